/*
 * smbsign-pcap: a C tool that reads a capture with libpcap, reassembles
 * each TCP direction (in order; a hole drops the partial message and
 * resynchronises on the next NBSS header), feeds every SMB PDU to libsmbsign
 * and prints one line per connection:
 *
 *   client server dialect server_signing client_signing signed unsigned findings
 *
 * Build:  cc smbsign-pcap.c $(pkg-config --cflags --libs smbsign) -lpcap
 * Usage:  smbsign-pcap FILE.pcap[ng]
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbsign.h"

#define MAX_CONNS 4096
#define MAX_MSG (16u * 1024u * 1024u + 4u)

struct direction {
    int seen;            /* next_seq is valid */
    uint32_t next_seq;
    uint8_t *buf;        /* bytes of the current NBSS packet(s) */
    size_t len, cap;
};

struct conn {
    int used;
    int family;          /* 4 or 6 */
    uint8_t addr[2][16]; /* [0] = side A (first seen sender), [1] = side B */
    uint16_t port[2];
    int client;          /* index of the client side, -1 unknown */
    struct direction dir[2];
    uint64_t id;
};

static struct conn conns[MAX_CONNS];
static size_t nconns;
static smbsign_analyzer *analyzer;

static const char *signing_name(smbsign_signing s)
{
    switch (s) {
    case SMBSIGN_SIGNING_DISABLED: return "disabled";
    case SMBSIGN_SIGNING_ENABLED: return "enabled";
    case SMBSIGN_SIGNING_REQUIRED: return "required";
    default: return "-";
    }
}

static void endpoint(const struct conn *c, int side, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr[side], ip, sizeof ip);
    if (c->family == 4)
        snprintf(out, n, "%s:%u", ip, c->port[side]);
    else
        snprintf(out, n, "[%s]:%u", ip, c->port[side]);
}

static struct conn *lookup(int family, const uint8_t *src, const uint8_t *dst,
                           uint16_t sport, uint16_t dport, int *side)
{
    size_t alen = family == 4 ? 4 : 16;
    for (size_t i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->family != family)
            continue;
        for (int s = 0; s < 2; s++) {
            if (!memcmp(c->addr[s], src, alen) && c->port[s] == sport &&
                !memcmp(c->addr[1 - s], dst, alen) && c->port[1 - s] == dport) {
                *side = s;
                return c;
            }
        }
    }
    if (nconns == MAX_CONNS)
        return NULL;
    struct conn *c = &conns[nconns];
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->family = family;
    memcpy(c->addr[0], src, alen);
    memcpy(c->addr[1], dst, alen);
    c->port[0] = sport;
    c->port[1] = dport;
    c->client = -1;
    c->id = nconns++;
    *side = 0;
    return c;
}

/* Hand every complete NBSS packet in the buffer to the library. */
static void drain(struct conn *c, int side, uint64_t frame)
{
    struct direction *d = &c->dir[side];
    size_t off = 0;
    while (d->len - off >= 4) {
        const uint8_t *p = d->buf + off;
        size_t n = ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
        if (d->len - off < 4 + n)
            break;
        if (p[0] == 0x00 && n > 0) {
            if (c->client < 0) /* SMB1 Flags bit 7 / SMB2 Flags bit 0: response */
                c->client = (n > 16 && (p[4] == 0xff ? (p[13] & 0x80) : (p[20] & 1))) ? 1 - side : side;
            uint32_t dirn = side == c->client ? SMBSIGN_TO_SERVER : SMBSIGN_TO_CLIENT;
            smbsign_analyzer_feed(analyzer, c->id, dirn, frame, p + 4, n, NULL, 0, NULL);
        }
        off += 4 + n;
    }
    memmove(d->buf, d->buf + off, d->len - off);
    d->len -= off;
}

static void segment(struct conn *c, int side, uint32_t seq, uint8_t flags,
                    const uint8_t *data, size_t len, uint64_t frame)
{
    struct direction *d = &c->dir[side];
    if (flags & 0x02) { /* SYN */
        d->seen = 1;
        d->next_seq = seq + 1;
        if (!(flags & 0x10) && c->client < 0)
            c->client = side;
        return;
    }
    if (flags & 0x05) /* FIN or RST: the connection ended */
        smbsign_analyzer_mark_ended(analyzer, c->id);
    if (len == 0)
        return;
    if (!d->seen) {
        d->seen = 1;
        d->next_seq = seq;
    }
    int32_t delta = (int32_t)(seq - d->next_seq);
    uint32_t start = delta < 0 ? d->next_seq : seq;
    if (delta < 0) { /* retransmission / overlap */
        if ((size_t)(-delta) >= len)
            return;
        data += -delta;
        len -= (size_t)(-delta);
    } else if (delta > 0) { /* hole: drop the partial message */
        d->len = 0;
    }
    d->next_seq = start + (uint32_t)len;
    if (d->len + len > MAX_MSG) {
        d->len = 0;
        return;
    }
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 65536;
        while (cap < d->len + len)
            cap *= 2;
        uint8_t *nb = realloc(d->buf, cap);
        if (!nb)
            return;
        d->buf = nb;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, data, len);
    d->len += len;
    drain(c, side, frame);
}

static void packet(int linktype, const uint8_t *p, size_t caplen, uint64_t frame)
{
    size_t off;
    uint16_t ethertype;
    switch (linktype) {
    case DLT_EN10MB:
        if (caplen < 14) return;
        ethertype = (uint16_t)(p[12] << 8 | p[13]);
        off = 14;
        while ((ethertype == 0x8100 || ethertype == 0x88a8) && caplen >= off + 4) {
            ethertype = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
            off += 4;
        }
        break;
    case DLT_LINUX_SLL:
        if (caplen < 16) return;
        ethertype = (uint16_t)(p[14] << 8 | p[15]);
        off = 16;
        break;
    case DLT_RAW:
        off = 0;
        ethertype = caplen && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        break;
    case DLT_NULL:
        if (caplen < 4) return;
        off = 4;
        ethertype = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0x86dd;
        break;
    default:
        return;
    }
    const uint8_t *ip = p + off;
    size_t iplen = caplen - off, ihl, total;
    int family;
    const uint8_t *src, *dst;
    if (ethertype == 0x0800) {
        if (iplen < 20 || ip[9] != 6) return;
        ihl = (size_t)(ip[0] & 0x0f) * 4;
        total = (size_t)(ip[2] << 8 | ip[3]);
        family = 4;
        src = ip + 12;
        dst = ip + 16;
    } else if (ethertype == 0x86dd) {
        if (iplen < 40 || ip[6] != 6) return;
        ihl = 40;
        total = 40 + (size_t)(ip[4] << 8 | ip[5]);
        family = 6;
        src = ip + 8;
        dst = ip + 24;
    } else {
        return;
    }
    if (total > iplen) total = iplen;
    if (total < ihl + 20) return;
    const uint8_t *tcp = ip + ihl;
    size_t thl = (size_t)(tcp[12] >> 4) * 4;
    if (thl < 20 || ihl + thl > total) return;
    uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
    uint16_t dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    int side;
    struct conn *c = lookup(family, src, dst, sport, dport, &side);
    if (!c) return;
    segment(c, side, seq, tcp[13], tcp + thl, total - ihl - thl, frame);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.pcap[ng]\n", argv[0]);
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(argv[1], err);
    if (!pc) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 2;
    }
    analyzer = smbsign_analyzer_new();
    if (!analyzer) {
        pcap_close(pc);
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t frame = 0;
    int linktype = pcap_datalink(pc);
    while (pcap_next_ex(pc, &h, &data) == 1)
        packet(linktype, data, h->caplen, ++frame);
    pcap_close(pc);

    int status = 0;
    for (size_t i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        smbsign_connection *sc = NULL;
        if (smbsign_analyzer_connection(analyzer, c->id, &sc) == SMBSIGN_OK) {
            char a[64], b[64];
            int client = c->client < 0 ? 0 : c->client;
            endpoint(c, client, a, sizeof a);
            endpoint(c, 1 - client, b, sizeof b);
            smbsign_connection_info info;
            if (smbsign_connection_get_info(sc, &info) != SMBSIGN_OK) {
                status = 1;
            } else {
                printf("%s %s %s %s %s %llu %llu ", a, b, info.dialect ? info.dialect : "-",
                       signing_name(info.server_signing), signing_name(info.client_signing),
                       (unsigned long long)info.signed_messages,
                       (unsigned long long)info.unsigned_messages);
                for (size_t k = 0; k < info.finding_count; k++) {
                    smbsign_finding f;
                    if (smbsign_connection_get_finding(sc, k, &f) == SMBSIGN_OK)
                        printf("%s%s", k ? "," : "", f.code_name);
                }
                if (info.finding_count == 0)
                    printf("-");
                printf("\n");
            }
            smbsign_connection_free(sc);
        }
        free(c->dir[0].buf);
        free(c->dir[1].buf);
    }
    smbsign_analyzer_free(analyzer);
    return status;
}
