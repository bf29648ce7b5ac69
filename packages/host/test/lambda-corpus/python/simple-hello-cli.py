# A module whose file name is not a Python identifier (deployed as simple-hello-cli.handler).
def handler(event, context):
    print("request " + context.aws_request_id)
    return "Hello, {}! ({} MB, version {})".format(event["name"], context.memory_limit_in_mb, context.function_version)
