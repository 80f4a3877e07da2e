#!/usr/bin/env bash
# NAT lab: network namespaces with a public segment and two NATed LANs.
#
#   lab.sh up <id> <cone|symmetric>   build the topology, print it as JSON
#   lab.sh down <id>                  tear it down (idempotent)
#   lab.sh run <id> <cone|symmetric> -- cmd...
#                                     build, run cmd (LAB_ID/LAB_NS_* exported),
#                                     tear down on any exit (trap)
#
# Namespaces are named x<id>-<role> (id: 1-6 of [a-z0-9], unique per run).
# Public segment: a bridge namespace x<id>-pub with br0; every public host and
# each NAT router's WAN side has one veth into it, a /32 address from its own
# /8 and an on-link default route (so hosts in different /8s reach each other
# over the one L2 segment):
#
#   relay  11.0.0.10   go circuit relay v2 server
#   an1    12.0.0.10   go AutoNAT server
#   an2    13.0.0.10   go AutoNAT server
#   an3    14.0.0.10   go AutoNAT server
#   pubjs  15.0.0.10   a public host (js node for the "public" scenario)
#   nat1   16.0.0.1    NAT router of LAN 1 (10.1.0.0/24, host a at 10.1.0.2)
#   nat2   17.0.0.1    NAT router of LAN 2 (10.2.0.0/24, host b at 10.2.0.2)
#   an4-8  18-22.0.0.10  five more go AutoNAT servers: AutoNAT (v1 and v2)
#                      gives up on an address after 8 failed dial-backs from
#                      distinct /8 networks, so an1-an8 are eight of them
#
# NAT (nftables, in the router namespaces only):
#   cone       masquerade, port-preserving: the same internal ip:port maps to
#              the same external port for every destination (endpoint-
#              independent mapping); conntrack filters inbound packets to
#              known flows (port-restricted cone). Hole punching can work.
#   Unsolicited packets from the WAN are dropped silently (not refused), as
#   real NAT boxes do: a refused SYN would end a TCP simultaneous open.
#   symmetric  masquerade fully-random: a random external port per flow
#              (endpoint-dependent mapping). Hole punching cannot work.
#
# Nothing is attached to the root namespace: the lab's addresses never leave
# it. Needs root, iproute2 and nft.
# -E: the ERR trap of `up` also fires for failures inside the helper functions it calls
set -Eeuo pipefail

ROLES_PUBLIC="relay:11.0.0.10 an1:12.0.0.10 an2:13.0.0.10 an3:14.0.0.10 pubjs:15.0.0.10 an4:18.0.0.10 an5:19.0.0.10 an6:20.0.0.10 an7:21.0.0.10 an8:22.0.0.10"

die () { echo "lab.sh: $*" >&2; exit 1; }

check_id () {
  [[ "$1" =~ ^[a-z0-9]{1,6}$ ]] || die "id must be 1-6 of [a-z0-9], got '$1'"
}

ns () { echo "x$1-$2"; }

down () {
  local id="$1"
  check_id "$id"
  for role in a b nat1 nat2 relay an1 an2 an3 an4 an5 an6 an7 an8 pubjs pub; do
    local name
    name="$(ns "$id" "$role")"
    if ip netns list | grep -qw "^$name"; then
      # end anything still running inside (only processes in this namespace)
      local pids
      pids="$(ip netns pids "$name" 2>/dev/null || true)"
      if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
      ip netns del "$name" 2>/dev/null || true
    fi
  done
}

# veth pair: $1 ns A, $2 name in A, $3 ns B, $4 name in B
link () {
  local tmp_a="xv$RANDOM$RANDOM" tmp_b="xw$RANDOM$RANDOM"
  ip link add "${tmp_a:0:15}" type veth peer name "${tmp_b:0:15}"
  ip link set "${tmp_a:0:15}" netns "$1"
  ip link set "${tmp_b:0:15}" netns "$3"
  ip -n "$1" link set "${tmp_a:0:15}" name "$2"
  ip -n "$3" link set "${tmp_b:0:15}" name "$4"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

new_ns () {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# a host on the public segment: $1 id, $2 role, $3 ip, $4 interface name
public_host () {
  local host pub idx
  host="$(ns "$1" "$2")"
  pub="$(ns "$1" pub)"
  idx="p-$2"
  link "$host" "$4" "$pub" "$idx"
  ip -n "$pub" link set "$idx" master br0
  ip -n "$host" addr add "$3/32" dev "$4"
  ip -n "$host" route add default dev "$4"
}

up () {
  local id="$1" nat="$2"
  check_id "$id"
  [ "$nat" = cone ] || [ "$nat" = symmetric ] || die "nat must be cone or symmetric, got '$nat'"
  [ "$(id -u)" = 0 ] || die "needs root"
  command -v nft >/dev/null || die "nft (nftables) is not installed"

  local pub
  pub="$(ns "$id" pub)"
  ip netns list | grep -qw "^$pub" && die "a lab with id $id exists already"

  # tear down whatever was built if any step fails
  trap 'down "$id"' ERR

  new_ns "$pub"
  ip -n "$pub" link add br0 type bridge
  ip -n "$pub" link set br0 up

  for entry in $ROLES_PUBLIC; do
    local role="${entry%%:*}" addr="${entry##*:}"
    new_ns "$(ns "$id" "$role")"
    public_host "$id" "$role" "$addr" eth0
  done

  local lan
  for lan in 1 2; do
    local router host hostrole
    router="$(ns "$id" "nat$lan")"
    hostrole=$([ "$lan" = 1 ] && echo a || echo b)
    host="$(ns "$id" "$hostrole")"
    new_ns "$router"
    new_ns "$host"
    public_host "$id" "nat$lan" "1$((lan + 5)).0.0.1" wan
    link "$router" lan "$host" eth0
    ip -n "$router" addr add "10.$lan.0.1/24" dev lan
    ip -n "$host" addr add "10.$lan.0.2/24" dev eth0
    ip -n "$host" route add default via "10.$lan.0.1"
    ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
    local mode=""
    [ "$nat" = symmetric ] && mode="fully-random"
    ip netns exec "$router" nft -f - <<NFT
table ip lab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade $mode
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
}
NFT
  done

  trap - ERR

  cat <<JSON
{"id":"$id","nat":"$nat","ns":{"pub":"$pub","relay":"$(ns "$id" relay)","an1":"$(ns "$id" an1)","an2":"$(ns "$id" an2)","an3":"$(ns "$id" an3)","an4":"$(ns "$id" an4)","an5":"$(ns "$id" an5)","an6":"$(ns "$id" an6)","an7":"$(ns "$id" an7)","an8":"$(ns "$id" an8)","pubjs":"$(ns "$id" pubjs)","nat1":"$(ns "$id" nat1)","nat2":"$(ns "$id" nat2)","a":"$(ns "$id" a)","b":"$(ns "$id" b)"},"ip":{"relay":"11.0.0.10","an1":"12.0.0.10","an2":"13.0.0.10","an3":"14.0.0.10","an4":"18.0.0.10","an5":"19.0.0.10","an6":"20.0.0.10","an7":"21.0.0.10","an8":"22.0.0.10","pubjs":"15.0.0.10","nat1":"16.0.0.1","nat2":"17.0.0.1","a":"10.1.0.2","b":"10.2.0.2"}}
JSON
}

cmd="${1:-}"
case "$cmd" in
  up) [ $# -eq 3 ] || die "usage: lab.sh up <id> <cone|symmetric>"; up "$2" "$3" ;;
  down) [ $# -eq 2 ] || die "usage: lab.sh down <id>"; down "$2" ;;
  run)
    [ $# -ge 5 ] && [ "$4" = "--" ] || die "usage: lab.sh run <id> <cone|symmetric> -- cmd..."
    id="$2"; nat="$3"; shift 4
    trap 'down "$id"' EXIT INT TERM
    up "$id" "$nat" > /dev/null
    export LAB_ID="$id" LAB_NAT="$nat"
    "$@"
    ;;
  *) die "usage: lab.sh up|down|run ..." ;;
esac
