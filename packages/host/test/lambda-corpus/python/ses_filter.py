# An SES receipt-rule function: it reads the mail's common headers and tells SES what to do.
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    mail = event["Records"][0]["ses"]["mail"]
    receipt = event["Records"][0]["ses"]["receipt"]
    logger.info("From: %s Subject: %s", mail["commonHeaders"]["from"][0], mail["commonHeaders"]["subject"])
    if receipt["spamVerdict"]["status"] == "FAIL" or receipt["virusVerdict"]["status"] == "FAIL":
        return {"disposition": "STOP_RULE_SET"}
    return {"disposition": "CONTINUE"}
