#!/bin/sh
# certbot deploy hook for p2p-call: after a certificate for the TURN name is issued or renewed,
# copy it where coturn (user turnserver) can read it and make coturn and nginx load it.
# Install: install -D -m 0755 deploy/certbot-deploy-hook.sh /etc/letsencrypt/renewal-hooks/deploy/p2p-call
# (edit TURN_DOMAIN below). certbot sets RENEWED_LINEAGE (the live/ directory) and
# RENEWED_DOMAINS (the names on the certificate). Walk-through: docs/deploy.md.
set -eu

TURN_DOMAIN=${TURN_DOMAIN:-turn.example.com}
COTURN_CERT_DIR=${COTURN_CERT_DIR:-/etc/coturn/certs}
COTURN_GROUP=${COTURN_GROUP:-turnserver}

: "${RENEWED_LINEAGE:?certbot sets RENEWED_LINEAGE for deploy hooks}"

case " ${RENEWED_DOMAINS:-} " in
  *" $TURN_DOMAIN "*)
    # Never world-readable, not even for a moment.
    umask 077
    install -d -m 0750 -o root -g "$COTURN_GROUP" "$COTURN_CERT_DIR"
    install -m 0644 -o root -g "$COTURN_GROUP" "$RENEWED_LINEAGE/fullchain.pem" "$COTURN_CERT_DIR/fullchain.pem"
    install -m 0640 -o root -g "$COTURN_GROUP" "$RENEWED_LINEAGE/privkey.pem" "$COTURN_CERT_DIR/privkey.pem"
    # coturn re-reads cert= and pkey= on SIGUSR2; allocations in progress are kept.
    if systemctl is-active --quiet coturn; then
      systemctl kill --signal=SIGUSR2 coturn
    fi
    ;;
esac

# nginx reads its certificates on reload (skipped where nginx is not running or not installed).
if systemctl is-active --quiet nginx; then
  systemctl reload nginx
fi
