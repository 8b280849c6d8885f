/* service.c - `mdmhealth service install|uninstall|start|stop|configure` (Windows). */
#include "agent/cli/cli.h"

#include "agent/os/mdm_fs.h"
#include "agent/os/mdm_service.h"

#include <stdio.h>
#include <string.h>

static const char service_usage[] =
    "usage: mdmhealth service install|uninstall|start|stop|configure [-c FILE]\n"
    "\n"
    "Manages the Windows service \"" MDM_SERVICE_NAME "\" (" MDM_SERVICE_DISPLAY_NAME "). install\n"
    "registers it to start automatically as NT AUTHORITY\\NetworkService, running\n"
    "`mdmhealth run --service -c FILE`, restarted by Windows if it fails, and the\n"
    "Application event log source \"" MDM_SERVICE_NAME "\" for its messages; uninstall\n"
    "removes both. The MSI does the same; this is for installs without it.\n"
    "configure sets the description and the recovery actions (restart after 1 min,\n"
    "1 min, 5 min) of the installed service again; the MSI runs it after its\n"
    "ServiceInstall. Needs an administrator.\n"
    "\n"
    "  -c, --config FILE   configuration the service reads (default %s)\n"
    "\n"
    "Exit status: 0 done, 1 Windows refused (or not Windows),\n"
    "2 usage error.\n";

int mdm_cmd_service(int argc, char **argv)
{
    const char *verb = NULL, *config = NULL;
    struct mdm_err err;

    for (int i = 1; i < argc; i++) {
        if (mdm_cli_config_arg(argc, argv, &i, &config)) {
            continue; /* -c FILE */
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf(service_usage, mdm_fs_default_config_path());
            return MDM_EXIT_OK;
        } else if (verb == NULL && argv[i][0] != '-') {
            verb = argv[i];
        } else {
            mdm_cli_error("service: unexpected argument \"%s\" (see mdmhealth service --help)",
                          argv[i]);
            return MDM_EXIT_USAGE;
        }
    }
    if (verb == NULL) {
        mdm_cli_error("service: say what to do: install, uninstall, start, stop or configure");
        return MDM_EXIT_USAGE;
    }
    if (mdm_service_manage(verb, config ? config : mdm_fs_default_config_path(), &err) != 0) {
        mdm_cli_error("%s", err.msg);
        return err.code == MDM_EINVAL ? MDM_EXIT_USAGE : MDM_EXIT_FAILURE;
    }
    printf("service %s: done\n", verb);
    return MDM_EXIT_OK;
}
