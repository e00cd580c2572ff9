// expect: exception
async function main(input) { const m = await import("os"); return m.getenv("HOME"); }
