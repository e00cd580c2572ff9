// expect: memory
function main(input) { const s = "x".repeat(1 << 28); return s.length; }
