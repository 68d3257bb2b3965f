// Compiled once to produce the precompiled header that other targets reuse.
