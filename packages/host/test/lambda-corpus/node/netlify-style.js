// ES module syntax in a .js file with no package.json (Netlify-style functions are Lambda handlers).
export const handler = (event, context, callback) => {
  callback(null, {
    statusCode: 200,
    body: JSON.stringify({
      data: 'hello world',
      status: 'success',
    }),
  });
};
