// The zkThreads protocol core.
