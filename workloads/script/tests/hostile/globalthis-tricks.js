// expect: exception
function main(input) { const g = Function("return this")(); g.leak = 1; Object.defineProperty(g, "leak2", { value: 2 }); return "global was writable"; }
