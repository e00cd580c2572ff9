// QuickJS's libregexp.c, from the rquickjs-sys crate the Rust rows build: dyno's Go build puts that crate's
// quickjs/ folder on the include path (the cgo-include file), so Go and Rust run one engine's sources.
#include "libregexp.c"
