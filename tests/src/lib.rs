//! End-to-end tests of rotor; the library holds only the test fixture target.
