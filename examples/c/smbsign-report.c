/* smbsign-report: what `smbsign scan --json` reports, from C, through the
 * typed structs of include/smbsign.h only (no JSON, no string parsing).
 *
 *   smbsign-report [-c CREDENTIALS]... CAPTURE...
 *
 * CREDENTIALS: entries as `smbsign scan --credentials` reads them
 * ("password USER:PASS", "nt-hash USER:HEX32", "session-key ID:HEX",
 * separated by ';'). One line per connection, session, finding, tree
 * connect and command seen decrypted, and one of tunnel totals; enum
 * values print as their numbers, so a test can compare them with the
 * CLI's JSON value for value.
 *
 * Build from the build tree, no install:
 *   PKG_CONFIG_PATH=target/release/pkgconfig \
 *     cc examples/c/smbsign-report.c $(pkg-config --cflags --libs smbsign)
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "smbsign.h"

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static void print_frames(const smbsign_connection *c, size_t session_index)
{
    uint64_t frames[16];
    size_t n = 0;
    if (smbsign_connection_forged_frames(c, session_index, frames, 16, &n) != SMBSIGN_OK)
        n = 0;
    printf(" forged_frames=");
    for (size_t k = 0; k < n && k < 16; k++)
        printf("%s%" PRIu64, k ? "," : "", frames[k]);
    if (n == 0)
        printf("-");
}

/* Encryption, compression and tree connects: one "tunnel" line, then a
 * line per tree connect and per command seen decrypted. */
static void print_tunnel(const smbsign_connection *c)
{
    smbsign_tunnel_info t;
    if (smbsign_connection_get_tunnel(c, &t) != SMBSIGN_OK)
        return;
    printf("tunnel enc=%" PRIu64 " comp=%" PRIu64 " decomp=%" PRIu64 " decomp_fail=%" PRIu64,
           t.encrypted_messages, t.compressed_messages, t.decompressed_messages,
           t.decompression_failures);
    if (t.decrypting)
        printf(" dec=%" PRIu64 " badtag=%" PRIu64, t.decrypted_messages, t.bad_tag_messages);
    else
        printf(" dec=- badtag=-");
    uint64_t frames[16];
    size_t n = 0;
    if (smbsign_connection_bad_tag_frames(c, frames, 16, &n) != SMBSIGN_OK)
        n = 0;
    printf(" badtag_frames=");
    for (size_t k = 0; k < n && k < 16; k++)
        printf("%s%" PRIu64, k ? "," : "", frames[k]);
    printf("%s\n", n == 0 ? "-" : "");
    for (size_t k = 0; k < t.tree_connect_count; k++) {
        smbsign_tree_connect tc;
        if (smbsign_connection_get_tree_connect(c, k, &tc) != SMBSIGN_OK)
            continue;
        printf("tree %s frame=%" PRIu64, or_dash(tc.path), tc.request_frame);
        if (tc.has_response)
            printf(" resp=%" PRIu64 " status=0x%08x tid=%u", tc.response_frame,
                   (unsigned)tc.status, (unsigned)tc.tree_id);
        else
            printf(" resp=- status=- tid=-");
        printf(" type=%u", (unsigned)tc.share_type);
        if (tc.has_share_flags)
            printf(" flags=%u", (unsigned)tc.share_flags);
        else
            printf(" flags=-");
        printf(" encrypt=%d service=%s decrypted=%d\n", tc.encrypt_data ? 1 : 0,
               or_dash(tc.service), tc.decrypted ? 1 : 0);
    }
    for (size_t k = 0; k < t.decrypted_command_count; k++) {
        smbsign_command_count cc;
        if (smbsign_connection_get_decrypted_command(c, k, &cc) == SMBSIGN_OK)
            printf("command %s %" PRIu64 "\n", or_dash(smbsign_command_name(false, cc.command)),
                   cc.count);
    }
}

static void print_connection(const smbsign_connection *c)
{
    smbsign_connection_info i;
    if (smbsign_connection_get_info(c, &i) != SMBSIGN_OK)
        return;
    printf("connection %s %s dialect=%s", or_dash(i.client), or_dash(i.server), or_dash(i.dialect));
    if (i.has_server_security_mode)
        printf(" smode=%u", (unsigned)i.server_security_mode);
    else
        printf(" smode=-");
    if (i.has_client_security_mode)
        printf(" cmode=%u", (unsigned)i.client_security_mode);
    else
        printf(" cmode=-");
    printf(" ssign=%u csign=%u mac=%u cipher=%u", (unsigned)i.server_signing,
           (unsigned)i.client_signing, (unsigned)i.signing_mac, (unsigned)i.cipher);
    printf(" signed=%" PRIu64 " unsigned=%" PRIu64 " req=%" PRIu64 " resp=%" PRIu64
           " enc=%" PRIu64 " comp=%" PRIu64 " uwr=%" PRIu64 " closed=%d gap=%" PRIu64
           " resyncs=%" PRIu64 " errors=%" PRIu64,
           i.signed_messages, i.unsigned_messages, i.requests, i.responses, i.encrypted_messages,
           i.compressed_messages, i.unsigned_while_required, i.closed ? 1 : 0, i.gap_bytes,
           i.resyncs, i.decode_errors);
    if (i.has_first_frame)
        printf(" first=%" PRIu64 " last=%" PRIu64, i.first_frame, i.last_frame);
    else
        printf(" first=- last=-");
    if (i.verifying)
        printf(" verified=%" PRIu64 " forged=%" PRIu64 " nokey=%" PRIu64 " unverifiable=%" PRIu64,
               i.verified_messages, i.forged_messages, i.no_key_messages, i.unverifiable_messages);
    else
        printf(" verified=- forged=- nokey=- unverifiable=-");
    print_frames(c, SIZE_MAX);
    printf("\n");

    for (size_t k = 0; k < i.session_count; k++) {
        smbsign_session s;
        smbsign_session_detail d;
        if (smbsign_connection_get_session(c, k, &s) != SMBSIGN_OK ||
            smbsign_connection_get_session_detail(c, k, &d) != SMBSIGN_OK)
            continue;
        printf("session %" PRIu64 " user=%s mech=%u legacy=%d guest=%d anonymous=%d encrypted=%d"
               " established=%d signing_required=%d uwr=%" PRIu64,
               s.session_id, or_dash(s.user), (unsigned)s.mechanism, d.legacy_auth ? 1 : 0,
               s.guest ? 1 : 0, s.anonymous ? 1 : 0, s.encrypted ? 1 : 0, s.established ? 1 : 0,
               d.signing_required ? 1 : 0, d.unsigned_while_required);
        if (d.verifying)
            printf(" verified=%" PRIu64 " forged=%" PRIu64 " nokey=%" PRIu64 " key=%u",
                   d.verified, d.forged, d.no_key, (unsigned)d.key_state);
        else
            printf(" verified=- forged=- nokey=- key=-");
        printf(" mic=%d", d.ntlm_mic);
        print_frames(c, k);
        printf("\n");
    }
    for (size_t k = 0; k < i.finding_count; k++) {
        smbsign_finding f;
        if (smbsign_connection_get_finding(c, k, &f) == SMBSIGN_OK)
            printf("finding %u %u\n", (unsigned)f.code, (unsigned)f.severity);
    }
    print_tunnel(c);
}

int main(int argc, char **argv)
{
    smbsign_options *opts = smbsign_options_new();
    if (!opts)
        return 2;
    int status = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "-c") == 0 && a + 1 < argc) {
            if (smbsign_options_add_credentials(opts, argv[++a]) != SMBSIGN_OK) {
                fprintf(stderr, "smbsign-report: %s\n", or_dash(smbsign_options_last_error(opts)));
                smbsign_options_free(opts);
                return 2;
            }
            continue;
        }
        smbsign_scan *scan = NULL;
        smbsign_result r = smbsign_scan_file_with(argv[a], opts, &scan);
        if (r != SMBSIGN_OK) {
            fprintf(stderr, "smbsign-report: %s: %s\n", argv[a], smbsign_result_name(r));
            status = 2;
            continue;
        }
        size_t n = smbsign_scan_connection_count(scan);
        for (size_t k = 0; k < n; k++)
            print_connection(smbsign_scan_connection(scan, k));
        smbsign_scan_free(scan);
    }
    smbsign_options_free(opts);
    return status;
}
