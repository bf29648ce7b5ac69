// An async handler that still calls its callback (the callback wins; its promise resolves later to undefined).
exports.lambda_handler = async (event, context, callback) => {
  try {
    console.info('collecting usage for', event.name);
    callback(null, { statusCode: 200, body: JSON.stringify({ count: event.items.length }) });
  } catch (err) {
    console.error(err);
    callback(err, null);
  }
};
