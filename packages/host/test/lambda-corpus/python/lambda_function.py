# Lambda console's default shape: root logger raised to INFO, API Gateway proxy response.
# Written in the style of bgagnon93/aws-working-dir hello-worlds/sam-lambda/function/app.py.
import json
import logging

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)


def lambda_handler(event, context):
    LOGGER.info(event["queryStringParameters"])
    name = (event.get("queryStringParameters") or {}).get("name", "World")
    body = {"message": "hello " + name}
    return {
        "isBase64Encoded": False,
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
