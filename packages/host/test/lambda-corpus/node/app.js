// AWS SAM's hello-world template shape: exports.lambdaHandler, try/catch, deployed as app.lambdaHandler.
let response;

exports.lambdaHandler = async (event, context) => {
  try {
    response = {
      statusCode: 200,
      body: JSON.stringify({
        message: 'hello world',
        requestId: context.awsRequestId,
      }),
    };
  } catch (err) {
    console.log(err);
    return err;
  }

  return response;
};
