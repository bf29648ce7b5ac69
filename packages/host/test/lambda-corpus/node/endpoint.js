// Callback style with a synchronous arrow function, as in the Serverless Framework's
// aws-node-simple-http-endpoint example (deployed as endpoint.endpoint).

module.exports.endpoint = (event, context, callback) => {
  const response = {
    statusCode: 200,
    body: JSON.stringify({
      message: `Hello, ${event.queryStringParameters.name}, from ${context.functionName}.`,
    }),
  };

  callback(null, response);
};
