// Conformance suites: one per interface, each taking a factory.
