/* cmd_dkim.c: `kasten dkim keygen|list|delete|sign|verify`: the DKIM keys of the local
 * domains under <data>/dkim/ (see outbound/dkim.h), and two admin checks over a message
 * on stdin (cmd_dkim_msg.c). Keys can be made and deleted while the server runs: it
 * looks at a domain's key directory before each signature. */
#include "cmd.h"
#include "cmd_dkim_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "outbound/dkim.h"
#include "core/banned.h"

const char cmd_dkim_usage[] =
    "usage: kasten dkim COMMAND [--config FILE | --data DIR]\n"
    "  keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]\n"
    "                      make a key (RSA 2048 by default) as <data>/dkim/DOMAIN/S.key;\n"
    "                      S defaults to k<yyyymm>r (RSA) or k<yyyymm>e (ed25519)\n"
    "  list [DOMAIN]       domain, selector, algorithm, created (UTC)\n"
    "  delete DOMAIN SELECTOR\n"
    "  sign [--domain D]   print the message on stdin with its DKIM-Signature fields\n"
    "                      before it, one per key of D (default: the From domain)\n"
    "  verify [--key-record FILE]\n"
    "                      verify the message on stdin: one result per signature;\n"
    "                      key records from FILE (zone-file TXT lines as `kasten dns`\n"
    "                      prints them) or else from DNS. Exit 0 when all pass.\n"
    "`kasten dns DOMAIN` prints the TXT record of each key to publish.\n";

static int usage(void)
{
	fputs(cmd_dkim_usage, stderr);
	return 2;
}

/* The data dir must exist: a mistyped --data must not grow a new tree of keys. */
static int dkim_data_dir(void)
{
	struct stat st;
	const char *data = conf_get()->data;
	errno = 0;
	if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kasten dkim: data dir %s: %s\n", data,
		        errno ? strerror(errno) : "not a directory");
		return -1;
	}
	return cmd_drop_privileges(false) < 0 ? -1 : 0;
}

static int dkim_keygen(int argc, char **argv)
{
	const char *domain = NULL, *selector = NULL, *algo = "rsa";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--selector") && i + 1 < argc)
			selector = argv[++i];
		else if (!strcmp(argv[i], "--algorithm") && i + 1 < argc)
			algo = argv[++i];
		else if (argv[i][0] != '-' && !domain)
			domain = argv[i];
		else
			return usage();
	}
	enum dkim_alg alg;
	if (!strcmp(algo, "rsa"))
		alg = DKIM_ALG_RSA_SHA256;
	else if (!strcmp(algo, "ed25519"))
		alg = DKIM_ALG_ED25519_SHA256;
	else
		return usage();
	if (!domain)
		return usage();
	char dom[LIMIT_ADDR_DOMAIN + 1], sel[LIMIT_DKIM_SELECTOR + 1], def[16];
	if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0) {
		fprintf(stderr, "kasten dkim: '%s' is not a domain name\n", domain);
		return 2;
	}
	if (!selector) {
		dkim_selector_default(alg, time(NULL), def, sizeof(def));
		selector = def;
	}
	if (dkim_selector_norm(selector, sel, sizeof(sel)) < 0) {
		fprintf(stderr, "kasten dkim: '%s' is not a selector (one DNS label)\n", selector);
		return 2;
	}
	if (dkim_data_dir() < 0)
		return 1;
	int rc = dkim_key_generate(conf_get()->data, dom, sel, alg);
	if (rc == ERR_EXISTS) {
		fprintf(stderr,
		        "kasten dkim: %s already has a key with selector %s "
		        "(choose another with --selector)\n",
		        dom, sel);
		return 1;
	}
	if (rc == ERR_FULL) {
		fprintf(stderr, "kasten dkim: %s already has %d keys: delete one first\n", dom,
		        LIMIT_DKIM_KEYS);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: key for %s not made: %s\n", dom, err_str(rc));
		return 1;
	}
	printf("%s %s %s\npublish: %s._domainkey.%s TXT (see `kasten dns %s`)\n", dom, sel,
	       dkim_alg_key_type(alg), sel, dom, dom);
	return 0;
}

static int dkim_list(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return usage();
	if (dkim_data_dir() < 0)
		return 1;
	struct dkim_key *keys = NULL;
	size_t n = 0;
	char bad[4096] = "";
	int rc = dkim_keys_load(conf_get()->data, argc == 2 ? argv[1] : NULL, &keys, &n, bad,
	                        sizeof(bad));
	if (rc == ERR_INVAL) {
		fprintf(stderr, "kasten dkim: '%s' is not a domain name\n", argv[1]);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: keys not read: %s %s\n", err_str(rc), bad);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char when[32];
		struct tm tm;
		gmtime_r(&keys[i].created, &tm);
		if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			when[0] = '\0';
		printf("%s %s %s %s\n", keys[i].domain, keys[i].selector,
		       dkim_alg_key_type(keys[i].alg), when);
	}
	dkim_keys_free(&keys, n);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int dkim_delete(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return usage();
	if (dkim_data_dir() < 0)
		return 1;
	int rc = dkim_key_delete(conf_get()->data, argv[1], argv[2]);
	if (rc == ERR_INVAL) {
		fprintf(stderr, "kasten dkim: bad domain or selector\n");
		return 2;
	}
	if (rc == ERR_NOTFOUND) {
		fprintf(stderr, "kasten dkim: %s has no key with selector %s\n", argv[1], argv[2]);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: delete failed: %s\n", err_str(rc));
		return 1;
	}
	return 0;
}

int cmd_dkim(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc < 2)
		return usage();
	const char *sub = argv[1];
	if (!strcmp(sub, "keygen"))
		return dkim_keygen(argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return dkim_list(argc - 1, argv + 1);
	if (!strcmp(sub, "delete"))
		return dkim_delete(argc - 1, argv + 1);
	if (!strcmp(sub, "sign"))
		return cmd_dkim_sign(argc - 1, argv + 1);
	if (!strcmp(sub, "verify"))
		return cmd_dkim_verify(argc - 1, argv + 1);
	return usage();
}
