# basicConfig() in a Lambda function: a no-op there (the root logger already has Lambda's
# handler, at WARNING), so only the warning is printed. A common surprise people port over.
import json
import logging

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)


def handler(event, context):
    logger.info("not printed on Lambda")
    logger.warning("order received on %s", event["rawPath"])
    order = json.loads(event["body"])
    return {"statusCode": 201, "body": json.dumps({"item": order["item"], "quantity": order["quantity"], "dry_run": event["queryStringParameters"]["dry_run"] == "true"})}
