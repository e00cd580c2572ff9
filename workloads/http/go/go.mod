module dyno/http

go 1.19
