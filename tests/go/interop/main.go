// Command interop is the Go side of the interop tests in tests/interop_go.rs. It uses only the standard
// library (net/rpc, net/rpc/jsonrpc, encoding/gob via net/rpc, encoding/json) with the Open-Falcon v0.3
// model types, so whatever it accepts or sends is what real Go peers accept or send.
//
// Modes:
//
//	jsonrpc-client -addr A -n N -conc C   call our JSON-RPC server and check every reply
//	jsonrpc-server                        serve JSON-RPC; prints "LISTEN <addr>"
//	gob-server                            serve Judge/Graph over gob, checking every item; prints
//	                                      "LISTEN <addr>", and a summary line when stdin closes
//	gob-client -addr A -batches B -size S call our gob server's Judge.Send/Graph.Send and check replies
//	json-golden -n N                      print json.Marshal of N generated MetricValues, one per line
//	gob-sink [-listen A]                  serve Judge/Graph/P8sRelay over gob, recording items; prints
//	                                      "LISTEN <addr>", and when stdin closes every item as "Judge <json>",
//	                                      "Graph <json>" or "P8sRelay <json>" (its value as a string, NaN kept)
//	json-scan                             for each hex line on stdin, decode one value with json.Decoder and
//	                                      print "ok <InputOffset>", "err <SyntaxError.Offset>", "eof" or "more"
//	transfer-push -addr A -from I -to J -batch B
//	                                      push generated MetricValues with Transfer.Update; print each reply
//
// The item generator mirrors tests/src/gen.rs exactly.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ---- common/model (v0.3) ----

type MetricValue struct {
	Endpoint  string      `json:"endpoint"`
	Metric    string      `json:"metric"`
	Value     interface{} `json:"value"`
	Step      int64       `json:"step"`
	Type      string      `json:"counterType"`
	Tags      string      `json:"tags"`
	Timestamp int64       `json:"timestamp"`
}

type TransferResponse struct {
	Message string
	Total   int
	Invalid int
	Latency int64
}

type SimpleRpcResponse struct {
	Code int `json:"code"`
}

type NullRpcRequest struct{}

type AgentReportRequest struct {
	Hostname      string
	IP            string
	AgentVersion  string
	PluginVersion string
}

type JudgeItem struct {
	Endpoint  string            `json:"endpoint"`
	Metric    string            `json:"metric"`
	Value     float64           `json:"value"`
	Timestamp int64             `json:"timestamp"`
	JudgeType string            `json:"judgeType"`
	Tags      map[string]string `json:"tags"`
}

type GraphItem struct {
	Endpoint  string            `json:"endpoint"`
	Metric    string            `json:"metric"`
	Tags      map[string]string `json:"tags"`
	Value     float64           `json:"value"`
	Timestamp int64             `json:"timestamp"`
	DsType    string            `json:"dstype"`
	Step      int               `json:"step"`
	Heartbeat int               `json:"heartbeat"`
	Min       string            `json:"min"`
	Max       string            `json:"max"`
}

// HEAD's common/model.P8sItem, as falcon2p8s receives it.
type P8sItem struct {
	Endpoint   string            `json:"endpoint"`
	Metric     string            `json:"metric"`
	Tags       map[string]string `json:"tags"`
	Value      float64           `json:"value"`
	Timestamp  int64             `json:"timestamp"`
	MetricType string            `json:"metric_type"`
	Step       int               `json:"step"`
}

// ---- deterministic generator (mirror of tests/src/gen.rs) ----

const baseTs = 1700000000

type rng struct{ s uint64 }

func newRng(i int) *rng { return &rng{uint64(i)*0x9E3779B97F4A7C15 + 1} }

func (r *rng) next() uint64 {
	x := r.s
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	r.s = x
	return x * 0x2545F4914F6CDD1D
}

var specials = []string{"", "<b>", "a&b", "é", "\u2028", "x=y", " sp ", "\"q\"", "back\\slash", "\t", "日本", "1e-7"}

func genStr(r *rng, prefix string) string { return prefix + specials[r.next()%uint64(len(specials))] }

func genFloat(r *rng, i int, allowNonFinite bool) float64 {
	switch i % 4 {
	case 0:
		for {
			f := math.Float64frombits(r.next())
			if allowNonFinite || !(math.IsNaN(f) || math.IsInf(f, 0)) {
				return f
			}
		}
	case 1:
		return float64(r.next()%2000000)/1000.0 - 1000.0
	case 2:
		return float64(r.next() % 100000)
	default:
		m := float64(r.next()%1000 + 1)
		e := int64(r.next()%140) - 70
		return m * math.Float64frombits(uint64(1023+e)<<52)
	}
}

var counterTypes = []string{"GAUGE", "COUNTER", "DERIVE", "gauge", ""}

func genMetric(i int) *MetricValue {
	r := newRng(i)
	m := &MetricValue{}
	m.Endpoint = genStr(r, fmt.Sprintf("host-%d", i%37))
	m.Metric = genStr(r, fmt.Sprintf("m.%d", i%11))
	if i%5 == 0 {
		m.Value = fmt.Sprintf("%d.5", i)
	} else {
		m.Value = genFloat(r, i, false)
	}
	m.Step = int64(r.next() % 120)
	m.Type = counterTypes[r.next()%uint64(len(counterTypes))]
	n := int(r.next() % 4)
	for k := 0; k < n; k++ {
		if k > 0 {
			m.Tags += ","
		}
		m.Tags += fmt.Sprintf("k%d=%s", k, genStr(r, "v"))
	}
	m.Timestamp = baseTs + int64(i)
	return m
}

func genTags(r *rng) map[string]string {
	n := int(r.next() % 4)
	t := make(map[string]string, n)
	for k := 0; k < n; k++ {
		t[fmt.Sprintf("k%d", k)] = genStr(r, "v")
	}
	return t
}

var judgeTypes = []string{"GAUGE", "COUNTER", "DERIVE"}
var mins = []string{"U", "0", ""}

func genJudge(i int) *JudgeItem {
	r := newRng(i)
	it := &JudgeItem{}
	it.Endpoint = genStr(r, fmt.Sprintf("host-%d", i%37))
	it.Metric = genStr(r, "j.")
	it.Value = genFloat(r, i, true)
	it.Timestamp = baseTs + int64(i)
	it.JudgeType = judgeTypes[r.next()%3]
	it.Tags = genTags(r)
	return it
}

func genGraph(i int) *GraphItem {
	r := newRng(i)
	it := &GraphItem{}
	it.Endpoint = genStr(r, fmt.Sprintf("host-%d", i%37))
	it.Metric = genStr(r, "g.")
	it.Tags = genTags(r)
	it.Value = genFloat(r, i, true)
	it.Timestamp = baseTs + int64(i)
	it.DsType = judgeTypes[r.next()%2]
	it.Step = int(r.next()%5) * 30
	it.Heartbeat = it.Step * 2
	it.Min = mins[r.next()%3]
	it.Max = "U"
	return it
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a == 0 && b == 0)
}

func judgeEq(a, b *JudgeItem) bool {
	return a.Endpoint == b.Endpoint && a.Metric == b.Metric && sameFloat(a.Value, b.Value) &&
		a.Timestamp == b.Timestamp && a.JudgeType == b.JudgeType && reflect.DeepEqual(a.Tags, b.Tags)
}

func graphEq(a, b *GraphItem) bool {
	return a.Endpoint == b.Endpoint && a.Metric == b.Metric && reflect.DeepEqual(a.Tags, b.Tags) &&
		sameFloat(a.Value, b.Value) && a.Timestamp == b.Timestamp && a.DsType == b.DsType && a.Step == b.Step &&
		a.Heartbeat == b.Heartbeat && a.Min == b.Min && a.Max == b.Max
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", a...)
	os.Exit(1)
}

var listenAddr = "127.0.0.1:0"

func listen() net.Listener {
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("LISTEN %s\n", l.Addr())
	return l
}

// ---- jsonrpc-server ----

type Echo struct{}

func (Echo) Metrics(args []*MetricValue, reply *[]*MetricValue) error { *reply = args; return nil }

type Agent struct{}

func (Agent) ReportStatus(args *AgentReportRequest, reply *SimpleRpcResponse) error {
	if args.Hostname == "" {
		reply.Code = 1
	}
	return nil
}

func (Agent) TrustableIps(args *NullRpcRequest, reply *string) error {
	*reply = "10.0.0.1,10.0.0.2"
	return nil
}

type Test struct{}

func (Test) Fail(args NullRpcRequest, reply *SimpleRpcResponse) error {
	return errors.New("go says no <&>")
}

func (Test) Sleep(ms int, reply *int) error {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	*reply = ms
	return nil
}

func jsonrpcServer() {
	s := rpc.NewServer()
	s.RegisterName("Echo", Echo{})
	s.RegisterName("Agent", Agent{})
	s.RegisterName("Test", Test{})
	l := listen()
	go exitOnStdinClose()
	for {
		c, err := l.Accept()
		if err != nil {
			fail("accept: %v", err)
		}
		go s.ServeCodec(jsonrpc.NewServerCodec(c))
	}
}

func exitOnStdinClose() {
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// ---- jsonrpc-client ----

func metricsEqual(a, b []*MetricValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) {
			return false
		}
		if a[i] == nil {
			continue
		}
		x, y := *a[i], *b[i]
		xv, yv := x.Value, y.Value
		x.Value, y.Value = nil, nil
		if x != y {
			return false
		}
		xf, xok := xv.(float64)
		yf, yok := yv.(float64)
		if xok && yok {
			if !sameFloat(xf, yf) {
				return false
			}
		} else if !reflect.DeepEqual(xv, yv) {
			return false
		}
	}
	return true
}

func jsonrpcClient(addr string, n, conc int) {
	c, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := 0
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < n; k++ {
				start := (w*n + k) * 7
				batch := make([]*MetricValue, 0, 8)
				for i := start; i < start+7; i++ {
					batch = append(batch, genMetric(i))
				}
				batch = append(batch, nil)
				var echoed []*MetricValue
				if err := c.Call("Echo.Metrics", batch, &echoed); err != nil {
					fail("Echo.Metrics: %v", err)
				}
				if !metricsEqual(batch, echoed) {
					a, _ := json.Marshal(batch)
					b, _ := json.Marshal(echoed)
					fail("echo differs:\n sent %s\n  got %s", a, b)
				}
				var tr TransferResponse
				if err := c.Call("Test.Count", batch, &tr); err != nil {
					fail("Test.Count: %v", err)
				}
				if tr != (TransferResponse{Message: "ok", Total: 8, Invalid: 1, Latency: 0}) {
					fail("Test.Count reply %+v", tr)
				}
				mu.Lock()
				calls += 2
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	var r SimpleRpcResponse
	expectErr := func(method string, args interface{}, want string) {
		err := c.Call(method, args, &r)
		if err == nil || err.Error() != want {
			fail("%s: got error %v, want %q", method, err, want)
		}
		calls++
	}
	expectErr("Agent.Nope", NullRpcRequest{}, "rpc: can't find method Agent.Nope")
	expectErr("Nope.Method", NullRpcRequest{}, "rpc: can't find service Nope.Method")
	expectErr("Echo.Metrics", "not a list", "json: cannot unmarshal string into Go value of type []*model.MetricValue")
	expectErr("Test.Fail", NullRpcRequest{}, "boom <&>")
	// The connection survives error replies.
	if err := c.Call("Agent.ReportStatus", AgentReportRequest{Hostname: ""}, &r); err != nil || r.Code != 1 {
		fail("ReportStatus after errors: %v %+v", err, r)
	}
	var ips string
	if err := c.Call("Agent.TrustableIps", NullRpcRequest{}, &ips); err != nil || ips != "127.0.0.1" {
		fail("TrustableIps: %v %q", err, ips)
	}
	fmt.Printf("OK calls=%d\n", calls+2)
}

// ---- gob-server ----

type counts struct {
	sync.Mutex
	judge, judgeBad, graph, graphBad int
	firstBad                         string
}

var seen counts

type Judge struct{}

func (Judge) Send(items []*JudgeItem, reply *SimpleRpcResponse) error {
	seen.Lock()
	defer seen.Unlock()
	for _, it := range items {
		want := genJudge(int(it.Timestamp - baseTs))
		seen.judge++
		if !judgeEq(it, want) {
			seen.judgeBad++
			if seen.firstBad == "" {
				seen.firstBad = fmt.Sprintf("judge got %+v want %+v", *it, *want)
			}
		}
	}
	reply.Code = len(items)
	return nil
}

func (Judge) Ping(args NullRpcRequest, reply *SimpleRpcResponse) error { return nil }

func (Judge) Fail(items []*JudgeItem, reply *SimpleRpcResponse) error {
	return errors.New("judge says no")
}

type Graph struct{}

func (Graph) Send(items []*GraphItem, reply *SimpleRpcResponse) error {
	seen.Lock()
	defer seen.Unlock()
	for _, it := range items {
		want := genGraph(int(it.Timestamp - baseTs))
		seen.graph++
		if !graphEq(it, want) {
			seen.graphBad++
			if seen.firstBad == "" {
				seen.firstBad = fmt.Sprintf("graph got %+v want %+v", *it, *want)
			}
		}
	}
	reply.Code = len(items)
	return nil
}

func (Graph) Ping(args NullRpcRequest, reply *SimpleRpcResponse) error { return nil }

func gobServer() {
	s := rpc.NewServer()
	s.RegisterName("Judge", Judge{})
	s.RegisterName("Graph", Graph{})
	l := listen()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	bufio.NewReader(os.Stdin).ReadString('\n')
	seen.Lock()
	fmt.Printf("SUMMARY judge=%d judge_bad=%d graph=%d graph_bad=%d first_bad=%q\n",
		seen.judge, seen.judgeBad, seen.graph, seen.graphBad, seen.firstBad)
	seen.Unlock()
}

// ---- gob-client ----

func gobClient(addr string, batches, size int) {
	c, err := rpc.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	defer c.Close()
	// Pipeline every batch at once: replies may come back in any order.
	var calls []*rpc.Call
	for b := 0; b < batches; b++ {
		js := make([]*JudgeItem, 0, size)
		gs := make([]*GraphItem, 0, size)
		for i := b * size; i < (b+1)*size; i++ {
			js = append(js, genJudge(i))
			gs = append(gs, genGraph(i))
		}
		calls = append(calls, c.Go("Judge.Send", js, &SimpleRpcResponse{}, nil))
		calls = append(calls, c.Go("Graph.Send", gs, &SimpleRpcResponse{}, nil))
	}
	for _, call := range calls {
		<-call.Done
		if call.Error != nil {
			fail("%s: %v", call.ServiceMethod, call.Error)
		}
		if got := call.Reply.(*SimpleRpcResponse).Code; got != size {
			fail("%s: code %d, want %d", call.ServiceMethod, got, size)
		}
	}
	var r SimpleRpcResponse
	if err := c.Call("Judge.Ping", NullRpcRequest{}, &r); err != nil || r.Code != 0 {
		fail("Judge.Ping: %v %+v", err, r)
	}
	expectErr := func(method string, args interface{}, want string) {
		err := c.Call(method, args, &r)
		if err == nil || err.Error() != want {
			fail("%s: got error %v, want %q", method, err, want)
		}
	}
	expectErr("Judge.Nope", NullRpcRequest{}, "rpc: can't find method Judge.Nope")
	expectErr("Nope.Send", NullRpcRequest{}, "rpc: can't find service Nope.Send")
	expectErr("Judge.Fail", []*JudgeItem{genJudge(0)}, "judge says no")
	// Still usable after errors.
	if err := c.Call("Graph.Send", []*GraphItem{genGraph(batches * size)}, &r); err != nil || r.Code != 1 {
		fail("Graph.Send after errors: %v %+v", err, r)
	}
	fmt.Printf("OK calls=%d\n", len(calls)+5)
}

// ---- gob-sink ----

type sink struct {
	sync.Mutex
	lines []string
}

var recorded sink

func (s *sink) add(service string, v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b = nonFinite(v)
	}
	s.Lock()
	s.lines = append(s.lines, service+" "+string(b))
	s.Unlock()
}

// nonFinite is the JSON of a judge or graph item whose value JSON cannot carry (NaN, the infinities): the
// same object with the value as Go's text.
func nonFinite(v interface{}) []byte {
	var value float64
	var b []byte
	var err error
	switch it := v.(type) {
	case *JudgeItem:
		c := *it
		value, c.Value = c.Value, 0
		b, err = json.Marshal(c)
	case *GraphItem:
		c := *it
		value, c.Value = c.Value, 0
		b, err = json.Marshal(c)
	default:
		return []byte(`"not encodable"`)
	}
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	text := `"value":"` + strconv.FormatFloat(value, 'g', -1, 64) + `"`
	return []byte(strings.Replace(string(b), `"value":0`, text, 1))
}

type SinkJudge struct{}

func (SinkJudge) Send(items []*JudgeItem, reply *SimpleRpcResponse) error {
	for _, it := range items {
		recorded.add("Judge", it)
	}
	return nil
}

type SinkGraph struct{}

func (SinkGraph) Send(items []*GraphItem, reply *SimpleRpcResponse) error {
	for _, it := range items {
		recorded.add("Graph", it)
	}
	return nil
}

type SinkP8s struct{}

// Send records every field; the value goes as Go's shortest text so that NaN and the infinities survive JSON.
func (SinkP8s) Send(items []*P8sItem, reply *SimpleRpcResponse) error {
	for _, it := range items {
		recorded.add("P8sRelay", map[string]interface{}{
			"endpoint": it.Endpoint, "metric": it.Metric, "tags": it.Tags,
			"value": strconv.FormatFloat(it.Value, 'g', -1, 64), "timestamp": it.Timestamp,
			"metric_type": it.MetricType, "step": it.Step,
		})
	}
	return nil
}

func gobSink() {
	s := rpc.NewServer()
	s.RegisterName("Judge", SinkJudge{})
	s.RegisterName("Graph", SinkGraph{})
	s.RegisterName("P8sRelay", SinkP8s{})
	l := listen()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	bufio.NewReader(os.Stdin).ReadString('\n')
	recorded.Lock()
	w := bufio.NewWriter(os.Stdout)
	for _, l := range recorded.lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	w.WriteString("END\n")
	w.Flush()
	recorded.Unlock()
}

// ---- json-scan ----

func jsonScan() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for in.Scan() {
		b, err := hex.DecodeString(in.Text())
		if err != nil {
			fail("hex: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		// RawMessage: syntax only, no conversion errors (a number out of float64's range is valid JSON).
		var v json.RawMessage
		err = dec.Decode(&v)
		var se *json.SyntaxError
		switch {
		case err == nil:
			fmt.Fprintf(w, "ok %d\n", dec.InputOffset())
		case errors.As(err, &se):
			fmt.Fprintf(w, "err %d\n", se.Offset)
		case err == io.EOF:
			fmt.Fprintln(w, "eof")
		case err == io.ErrUnexpectedEOF:
			fmt.Fprintln(w, "more")
		default:
			fmt.Fprintf(w, "other %q\n", err.Error())
		}
	}
}

// ---- transfer-push ----

func transferPush(addr string, from, to, batch int) {
	c, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	defer c.Close()
	calls := 0
	for start := from; start < to; start += batch {
		end := start + batch
		if end > to {
			end = to
		}
		items := make([]*MetricValue, 0, end-start)
		for i := start; i < end; i++ {
			items = append(items, genMetric(i))
		}
		var r TransferResponse
		if err := c.Call("Transfer.Update", items, &r); err != nil {
			fail("Transfer.Update: %v", err)
		}
		fmt.Printf("REPLY %s %d %d\n", r.Message, r.Total, r.Invalid)
		calls++
	}
	fmt.Printf("OK calls=%d\n", calls)
}

// ---- json-golden ----

func jsonGolden(n int) {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := 0; i < n; i++ {
		b, err := json.Marshal(genMetric(i))
		if err != nil {
			fail("marshal %d: %v", i, err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
}

// HBS types with Go's model shapes (no JSON tags on the agent types, tags on the judge types).
type AgentHeartbeatRequest struct {
	Hostname string
	Checksum string
}

type BuiltinMetric struct {
	Metric string
	Tags   string
}

type BuiltinMetricResponse struct {
	Metrics   []*BuiltinMetric
	Checksum  string
	Timestamp int64
}

type AgentPluginsResponse struct {
	Plugins   []string
	Timestamp int64
}

type Template struct {
	Id       int    `json:"id"`
	Name     string `json:"name"`
	ParentId int    `json:"parentId"`
	ActionId int    `json:"actionId"`
	Creator  string `json:"creator"`
}

type Strategy struct {
	Id         int               `json:"id"`
	Metric     string            `json:"metric"`
	Tags       map[string]string `json:"tags"`
	Func       string            `json:"func"`
	Operator   string            `json:"operator"`
	RightValue float64           `json:"rightValue"`
	MaxStep    int               `json:"maxStep"`
	Priority   int               `json:"priority"`
	Note       string            `json:"note"`
	Tpl        *Template         `json:"tpl"`
}

type HostStrategy struct {
	Hostname   string     `json:"hostname"`
	Strategies []Strategy `json:"strategies"`
}

type StrategiesResponse struct {
	HostStrategies []*HostStrategy `json:"hostStrategies"`
}

type Expression struct {
	Id         int               `json:"id"`
	Metric     string            `json:"metric"`
	Tags       map[string]string `json:"tags"`
	Func       string            `json:"func"`
	Operator   string            `json:"operator"`
	RightValue float64           `json:"rightValue"`
	MaxStep    int               `json:"maxStep"`
	Priority   int               `json:"priority"`
	Note       string            `json:"note"`
	ActionId   int               `json:"actionId"`
}

type ExpressionResponse struct {
	Expressions []*Expression `json:"expressions"`
}

// hbsClient plays a Go agent then a Go judge against an HBS and prints what it decoded, one JSON line per call.
func hbsClient(addr string) {
	c, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		fail("dial: %v", err)
	}
	defer c.Close()
	out := func(v interface{}) {
		b, err := json.Marshal(v)
		if err != nil {
			fail("marshal: %v", err)
		}
		fmt.Println(string(b))
	}
	var sr SimpleRpcResponse
	if err := c.Call("Agent.ReportStatus", AgentReportRequest{Hostname: "vm", IP: "127.0.0.1", AgentVersion: "5.1.2", PluginVersion: "go"}, &sr); err != nil {
		fail("Agent.ReportStatus: %v", err)
	}
	out(sr)
	var bm BuiltinMetricResponse
	if err := c.Call("Agent.BuiltinMetrics", AgentHeartbeatRequest{Hostname: "vm", Checksum: "nil"}, &bm); err != nil {
		fail("Agent.BuiltinMetrics: %v", err)
	}
	bm.Timestamp = 0
	out(bm)
	var again BuiltinMetricResponse
	if err := c.Call("Agent.BuiltinMetrics", AgentHeartbeatRequest{Hostname: "vm", Checksum: bm.Checksum}, &again); err != nil {
		fail("Agent.BuiltinMetrics: %v", err)
	}
	again.Timestamp = 0
	out(again)
	var pl AgentPluginsResponse
	if err := c.Call("Agent.MinePlugins", AgentHeartbeatRequest{Hostname: "vm"}, &pl); err != nil {
		fail("Agent.MinePlugins: %v", err)
	}
	pl.Timestamp = 0
	out(pl)
	var ips string
	if err := c.Call("Agent.TrustableIps", NullRpcRequest{}, &ips); err != nil {
		fail("Agent.TrustableIps: %v", err)
	}
	out(ips)
	var st StrategiesResponse
	if err := c.Call("Hbs.GetStrategies", NullRpcRequest{}, &st); err != nil {
		fail("Hbs.GetStrategies: %v", err)
	}
	for _, h := range st.HostStrategies {
		sort.Slice(h.Strategies, func(i, j int) bool { return h.Strategies[i].Id < h.Strategies[j].Id })
	}
	out(st)
	var ex ExpressionResponse
	if err := c.Call("Hbs.GetExpressions", NullRpcRequest{}, &ex); err != nil {
		fail("Hbs.GetExpressions: %v", err)
	}
	out(ex)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: interop <mode> [flags]")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "", "server address")
	n := fs.Int("n", 100, "count")
	conc := fs.Int("conc", 4, "concurrent callers")
	batches := fs.Int("batches", 10, "batches")
	size := fs.Int("size", 200, "batch size")
	from := fs.Int("from", 0, "first item")
	to := fs.Int("to", 1000, "end item (exclusive)")
	batch := fs.Int("batch", 100, "items per call")
	fs.StringVar(&listenAddr, "listen", listenAddr, "address server modes listen on")
	fs.Parse(os.Args[2:])
	switch mode {
	case "jsonrpc-client":
		jsonrpcClient(*addr, *n, *conc)
	case "jsonrpc-server":
		jsonrpcServer()
	case "gob-server":
		gobServer()
	case "gob-client":
		gobClient(*addr, *batches, *size)
	case "json-golden":
		jsonGolden(*n)
	case "gob-sink":
		gobSink()
	case "json-scan":
		jsonScan()
	case "transfer-push":
		transferPush(*addr, *from, *to, *batch)
	case "hbs-client":
		hbsClient(*addr)
	default:
		fail("unknown mode %q", mode)
	}
}
