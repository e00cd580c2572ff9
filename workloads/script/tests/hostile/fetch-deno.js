// expect: exception
function main(input) { return [typeof fetch, typeof Deno, typeof setTimeout, typeof XMLHttpRequest, typeof WebAssembly].join() === "undefined,undefined,undefined,undefined,undefined" ? globalThis.fetch("http://127.0.0.1/") : "host object reached"; }
