// expect: exception
// fresh: ok (a fresh context is not frozen: nothing it changes outlives the evaluation)
function main(input) { const g = Function("return this")(); g.leak = 1; Object.defineProperty(g, "leak2", { value: 2 }); return "global was writable"; }
