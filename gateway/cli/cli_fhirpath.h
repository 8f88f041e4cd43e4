/*
 * cli_fhirpath.h: the `cellgate fhirpath` subcommand: a FHIRPath expression
 * (or a file of them) evaluated on FHIR JSON resources, the result printed
 * per resource, for users who debug invariants and write routing rules.
 * Exit status: 0 evaluated, 1 an evaluation failed, 2 usage, I/O or a
 * syntax error (with its column).
 */
#ifndef CG_CLI_FHIRPATH_H
#define CG_CLI_FHIRPATH_H

int cg_cli_fhirpath(int argc, char **argv);

#endif
