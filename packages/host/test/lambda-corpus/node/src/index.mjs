// The Lambda console's Node.js 18+ starter: ESM, src/index.handler, console.log of the event.
export const handler = async (event, context) => {
  console.log('EVENT: \n' + JSON.stringify({ path: event.rawPath, method: event.requestContext.http.method }, null, 2));
  const order = JSON.parse(event.body);
  const response = {
    statusCode: 200,
    body: JSON.stringify({ item: order.item, remaining: context.getRemainingTimeInMillis() > 0 }),
  };
  return response;
};
