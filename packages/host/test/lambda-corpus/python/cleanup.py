# A scheduled job that reads the region at import and the account from the invoked ARN.
# Written in the style of JohnMakgakgaDS/aws_scripts cloudwatch.py (EventBridge schedule).
import datetime
import os

REGION = os.environ["AWS_REGION"]


def lambda_handler(event, context):
    account = context.invoked_function_arn.split(":")[4]
    print(f"Running scheduled cleanup for {event['resources'][0]} at {event['time']}")
    assert datetime.datetime.now().astimezone().utcoffset() == datetime.timedelta(0)
    return {"statusCode": 200, "body": "Cleanup completed", "region": REGION, "account": account, "kind": event["detail-type"]}
