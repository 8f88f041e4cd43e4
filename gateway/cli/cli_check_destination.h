/*
 * cli_check_destination.h: `cellgate check-destination NAME`: before any
 * patient data is sent, whether a destination can be reached as configured
 * (name resolution, proxy, TLS, credentials) and whether its FHIR server
 * supports what the destination's settings need, read from its
 * CapabilityStatement (docs/destinations.md).
 */
#ifndef CG_CLI_CHECK_DESTINATION_H
#define CG_CLI_CHECK_DESTINATION_H

int cg_cli_check_destination(int argc, char **argv);

#endif
