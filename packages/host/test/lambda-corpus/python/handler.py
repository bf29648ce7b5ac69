# A named logger set to INFO: its records reach Lambda's root handler by propagation.
# Written in the style of bwarren2/simple_session_service pipelines_webinar/lambda/handler.py.
import logging
import os

logger = logging.getLogger("handler")
logger.setLevel(logging.INFO)


def handler(event, context):
    logger.info("items: %s", event["items"])
    print("Hello")
    return {"body": "total " + str(sum(event["items"])), "statusCode": "200", "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
