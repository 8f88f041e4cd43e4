/*
 * cli_serve.h: `cellgate serve`. For now it checks a configuration file
 * (--check-config, like nginx -t); the server itself is issue #4's work and
 * says so instead of pretending.
 */
#ifndef CG_CLI_SERVE_H
#define CG_CLI_SERVE_H

int cg_cli_serve(int argc, char **argv);

#endif
