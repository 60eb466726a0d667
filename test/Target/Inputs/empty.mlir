// No reduction.
module {
}
