// A handler that rejects: Lambda reports the error's type and message.
exports.handler = async (event) => {
  if (!event.queryStringParameters.id) {
    const err = new Error('missing id');
    err.name = 'ValidationError';
    throw err;
  }
  return { ok: true };
};
