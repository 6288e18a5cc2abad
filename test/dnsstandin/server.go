package dnsstandin

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Server answers DNS over UDP and TCP for the server blocks of one port.
type Server struct {
	blocks []ServerBlock
	log    io.Writer

	mu      sync.Mutex
	servers []*dns.Server
}

// New returns a server for blocks; log receives one line per query.
func New(blocks []ServerBlock, log io.Writer) *Server {
	return &Server{blocks: blocks, log: log}
}

// Start listens on host (empty for all addresses) at every port the blocks
// name, over UDP and TCP, and returns once the sockets are bound.
func (s *Server) Start(host string) error {
	ports := map[int]bool{}
	for _, b := range s.blocks {
		ports[b.Port] = true
	}
	for port := range ports {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		for _, network := range []string{"udp", "tcp"} {
			started := make(chan struct{})
			srv := &dns.Server{Addr: addr, Net: network, Handler: s.handler(port), NotifyStartedFunc: func() { close(started) }}
			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServe() }()
			select {
			case <-started:
			case err := <-errc:
				s.Shutdown(context.Background())
				return fmt.Errorf("listen on %s/%s: %w", addr, network, err)
			}
			s.mu.Lock()
			s.servers = append(s.servers, srv)
			s.mu.Unlock()
		}
	}
	return nil
}

// Shutdown stops every listener.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		_ = srv.ShutdownContext(ctx)
	}
}

// blockFor picks the block with the longest zone that contains name, as
// CoreDNS routes queries between server blocks.
func (s *Server) blockFor(port int, name string) *ServerBlock {
	var best *ServerBlock
	bestLen := -1
	for i := range s.blocks {
		b := &s.blocks[i]
		if b.Port != port {
			continue
		}
		for _, z := range b.Zones {
			if dns.IsSubDomain(z, name) && len(z) > bestLen {
				best, bestLen = b, len(z)
			}
		}
	}
	return best
}

func (s *Server) handler(port int) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		start := time.Now()
		resp := new(dns.Msg)
		resp.SetReply(req)
		resp.Authoritative = true
		var q dns.Question
		if len(req.Question) == 1 {
			q = req.Question[0]
		}
		block := s.blockFor(port, dns.CanonicalName(q.Name))
		switch {
		case len(req.Question) != 1:
			resp.SetRcode(req, dns.RcodeFormatError)
		case block == nil:
			resp.SetRcode(req, dns.RcodeRefused)
		default:
			s.answer(block, w, q, resp)
		}
		_ = w.WriteMsg(resp)
		if s.log != nil {
			fmt.Fprintf(s.log, "[INFO] %s - %d \"%s IN %s %s\" %s %s\n", w.RemoteAddr(), req.Id, dns.TypeToString[q.Qtype], q.Name,
				w.RemoteAddr().Network(), dns.RcodeToString[resp.Rcode], time.Since(start))
		}
	})
}

// answer runs the block's plugins in order; the first that answers wins.
func (s *Server) answer(b *ServerBlock, w dns.ResponseWriter, q dns.Question, resp *dns.Msg) {
	for _, p := range b.Plugins {
		switch p.Name {
		case "whoami":
			whoami(w, q, resp)
			return
		case "forward":
			// Never forwarded: see the package comment.
			resp.Rcode = dns.RcodeServerFailure
			return
		}
	}
	resp.Rcode = dns.RcodeServerFailure
}

// whoami answers with the client's address and an SRV record of its port
// and transport.
func whoami(w dns.ResponseWriter, q dns.Question, resp *dns.Msg) {
	var ip net.IP
	var port int
	proto := "udp"
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip, port = a.IP, a.Port
	case *net.TCPAddr:
		ip, port, proto = a.IP, a.Port, "tcp"
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET}
	if v4 := ip.To4(); v4 != nil {
		hdr.Rrtype = dns.TypeA
		resp.Extra = append(resp.Extra, &dns.A{Hdr: hdr, A: v4})
	} else {
		hdr.Rrtype = dns.TypeAAAA
		resp.Extra = append(resp.Extra, &dns.AAAA{Hdr: hdr, AAAA: ip})
	}
	srv := &dns.SRV{Hdr: dns.RR_Header{Name: "_" + proto + "." + strings.TrimPrefix(q.Name, "."), Rrtype: dns.TypeSRV, Class: dns.ClassINET},
		Port: uint16(port), Target: "."}
	resp.Extra = append(resp.Extra, srv)
}
