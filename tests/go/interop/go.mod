module falcon-interop

go 1.19
