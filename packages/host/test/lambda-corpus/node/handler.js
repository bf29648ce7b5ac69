// The Serverless Framework's aws-node template: an async export under module.exports, deployed as handler.hello.

module.exports.hello = async (event) => {
  return {
    statusCode: 200,
    body: JSON.stringify(
      {
        message: 'Go Serverless v3.0! Your function executed successfully!',
        input: event.queryStringParameters,
      },
      null,
      2,
    ),
  };
};
