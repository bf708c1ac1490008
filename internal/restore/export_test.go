package restore

// Truncate is truncate, for the tests of its boundary.
var Truncate = truncate
