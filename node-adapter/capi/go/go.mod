module vera.dev/libvera

go 1.19
