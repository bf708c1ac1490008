// aws-local-stepfunctions 3 wants Node >= 22 for Promise.withResolvers; this is all it
// lacks on Node 20. Loaded with NODE_OPTIONS=--require.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
