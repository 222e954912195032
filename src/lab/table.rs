//! Server-side printing: Table responses with the standard kubectl columns.
