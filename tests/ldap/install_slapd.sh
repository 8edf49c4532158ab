#!/bin/sh
# Install OpenLDAP's server and tools from Debian for the LDAP tests, without a system server.
# Debian's postinst starts slapd listening on every interface; the tests start their own on
# 127.0.0.1, so a policy-rc.d that refuses every start is in place during the install (one already
# there is kept), and a system slapd that got started anyway is stopped and disabled.
set -u
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "OpenLDAP's slapd and ldap-utils are missing: install them (Debian: apt-get install slapd ldap-utils), or run make as root on Debian" >&2
    exit 1
fi
ours=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    ours=1
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils
rc=$?
[ -n "$ours" ] && rm -f /usr/sbin/policy-rc.d
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now slapd >/dev/null 2>&1 || true
fi
command -v update-rc.d >/dev/null && update-rc.d slapd disable >/dev/null 2>&1
[ -x /etc/init.d/slapd ] && /etc/init.d/slapd stop >/dev/null 2>&1
if [ $rc != 0 ]; then
    echo "installing slapd ldap-utils failed (apt-get exit $rc): install them by hand" >&2
fi
exit $rc
