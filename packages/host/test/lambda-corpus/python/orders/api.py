# A handler inside a package (deployed as orders.api.handler), with a relative import and
# a structured log line carrying the request id and the time left.
import json

from .util import parse


def handler(event, context):
    order = parse(event["body"])
    print(json.dumps({"level": "INFO", "request_id": context.aws_request_id, "remaining_ok": context.get_remaining_time_in_millis() > 0, "route": event["routeKey"]}))
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"ordered": order["quantity"]})}
