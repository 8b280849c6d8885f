/*
 * main.c - the mdmhealth command line: dispatches to the commands.
 */
#include "agent/cli/cli.h"
#include "agent/common/mdm_version.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "mdmhealth %s - SCMDM 2008 Enrollment Connection health, as SNMP\n"
    "\n"
    "usage:\n"
    "  mdmhealth replay   [-c FILE] [--pack FILE]... [--strict] [--json] EVENTS...\n"
    "                     evaluate .evtx or Event XML files ('-' = stdin) and print\n"
    "                     each state change\n"
    "  mdmhealth check    [-c FILE] [--pack FILE]... [--strict]\n"
    "                     validate the configuration and the management packs\n"
    "  mdmhealth run      [-c FILE] [-f] [--strict]\n"
    "                     the agent: follow events, send SNMP notifications,\n"
    "                     answer SNMP requests\n"
    "  mdmhealth reset    [-c FILE] MONITOR [TARGET]\n"
    "                     reset a monitor's health in the running agent\n"
    "  mdmhealth diagnose [-c FILE] [--json] [--explain]\n"
    "                     run the knowledge article's checks and name the diagnosis\n"
    "  mdmhealth resolve  loopback|ad-group [-c FILE] [--apply]\n"
    "                     apply a resolver (dry run unless --apply)\n"
    "  mdmhealth init     [-c FILE] [--enrollment-server FQDN] [--destination HOST]\n"
    "                     [--v3-user USER ...] write a first configuration file\n"
    "  mdmhealth service  install|uninstall|start|stop|configure [-c FILE]\n"
    "                     the Windows service\n"
    "  mdmhealth --help | --version\n"
    "\n"
    "`mdmhealth COMMAND --help` describes each command.\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL) {
        fprintf(stderr, usage, MDM_VERSION);
        return MDM_EXIT_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        printf(usage, MDM_VERSION);
        return MDM_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mdmhealth %s\n", MDM_VERSION);
        return MDM_EXIT_OK;
    }
    if (strcmp(cmd, "replay") == 0)
        return mdm_cmd_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return mdm_cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return mdm_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "reset") == 0)
        return mdm_cmd_reset(argc - 1, argv + 1);
    if (strcmp(cmd, "diagnose") == 0)
        return mdm_cmd_diagnose(argc - 1, argv + 1);
    if (strcmp(cmd, "resolve") == 0)
        return mdm_cmd_resolve(argc - 1, argv + 1);
    if (strcmp(cmd, "init") == 0)
        return mdm_cmd_init(argc - 1, argv + 1);
    if (strcmp(cmd, "service") == 0)
        return mdm_cmd_service(argc - 1, argv + 1);
    mdm_cli_error("unknown command \"%s\" (see mdmhealth --help)", cmd);
    return MDM_EXIT_USAGE;
}
