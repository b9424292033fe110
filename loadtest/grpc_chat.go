package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const (
	chatProto   = "internvl/mesh/v1/gateway.proto"
	chatService = "internvl.mesh.v1.Chat"
)

// grpcChatScenario: the gateway's gRPC front door, internvl.mesh.v1.Chat, with messages built at run time from
// the proto files in proto/src/main/proto (no generated code to keep in step). Iterations alternate between
// Complete (unary) and StreamComplete (server stream; time to first token = first message).
type grpcChatScenario struct {
	conn           *grpc.ClientConn
	complete       protoreflect.MethodDescriptor
	streamComplete protoreflect.MethodDescriptor
	request        []byte // protojson of the request, placeholders replaced
}

func (s *grpcChatScenario) Setup(ctx context.Context, env *Env) (string, error) {
	if _, err := os.Stat(filepath.Join(env.ProtoDir, chatProto)); err != nil {
		return fmt.Sprintf("%s is not in %s yet", chatProto, env.ProtoDir), nil
	}
	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{env.ProtoDir}})}
	files, err := compiler.Compile(ctx, chatProto)
	if err != nil {
		return "", fail("compiling %s: %v", chatProto, err)
	}
	service := files[0].Services().ByName(protoreflect.FullName(chatService).Name())
	if service == nil || files[0].Package() != "internvl.mesh.v1" {
		return fmt.Sprintf("%s declares no service %s yet", chatProto, chatService), nil
	}
	s.complete, s.streamComplete = service.Methods().ByName("Complete"), service.Methods().ByName("StreamComplete")
	if s.complete == nil || s.streamComplete == nil || !s.streamComplete.IsStreamingServer() {
		return fmt.Sprintf("%s has no Complete and server-streaming StreamComplete yet", chatService), nil
	}

	s.conn, err = grpc.NewClient(env.GrpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", fail("gRPC client for %s: %v", env.GrpcAddr, err)
	}
	health, err := healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: chatService})
	switch status.Code(err) {
	case codes.OK:
		if health.Status != healthpb.HealthCheckResponse_SERVING {
			return "", fail("%s on %s is %s", chatService, env.GrpcAddr, health.Status)
		}
	case codes.NotFound:
		return fmt.Sprintf("the gateway's gRPC port %s does not serve %s yet", env.GrpcAddr, chatService), nil
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Sprintf("nothing answers gRPC on %s (the gateway's gRPC port): %v", env.GrpcAddr, status.Convert(err).Message()), nil
	default:
		return "", fail("health check of %s on %s: %v", chatService, env.GrpcAddr, err)
	}

	template := strings.NewReplacer("${MODEL}", env.Model, "${MAX_TOKENS}", strconv.Itoa(env.Profile.Request.MaxTokens),
		"${PROMPT}", env.Profile.Request.Prompts[0]).Replace(string(env.Profile.GrpcRequest))
	s.request = []byte(template)
	if _, err := s.newRequest(s.complete); err != nil {
		return "", fail("the profile's grpc_request does not fit %s: %v (update it to gateway.proto)", s.complete.Input().FullName(), err)
	}
	if _, err := s.newRequest(s.streamComplete); err != nil {
		return "", fail("the profile's grpc_request does not fit %s: %v (update it to gateway.proto)", s.streamComplete.Input().FullName(), err)
	}
	return "", nil
}

func (s *grpcChatScenario) newRequest(method protoreflect.MethodDescriptor) (*dynamicpb.Message, error) {
	msg := dynamicpb.NewMessage(method.Input())
	return msg, protojson.Unmarshal(s.request, msg)
}

func fullMethod(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}

func (s *grpcChatScenario) Iterate(ctx context.Context, env *Env, vu, it int) error {
	const name = "grpc_chat"
	if (vu+it)%2 == 0 {
		req, _ := s.newRequest(s.complete)
		resp := dynamicpb.NewMessage(s.complete.Output())
		start := time.Now()
		if err := s.conn.Invoke(ctx, fullMethod(s.complete), req, resp); err != nil {
			return fail("Complete: %v", err)
		}
		total := time.Since(start)
		env.Metrics.Trend("request_duration", name, ms(total))
		recordTokens(env.Metrics, name, total, 0, completionTokens(resp))
		return nil
	}
	req, _ := s.newRequest(s.streamComplete)
	start := time.Now()
	stream, err := s.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, fullMethod(s.streamComplete))
	if err != nil {
		return fail("StreamComplete: %v", err)
	}
	if err := stream.SendMsg(req); err != nil {
		return fail("StreamComplete: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fail("StreamComplete: %v", err)
	}
	var firstToken time.Duration
	messages, tokens := 0, 0
	for {
		resp := dynamicpb.NewMessage(s.streamComplete.Output())
		err := stream.RecvMsg(resp)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail("StreamComplete: %v", err)
		}
		if messages == 0 {
			firstToken = time.Since(start)
		}
		messages++
		if n := completionTokens(resp); n > 0 {
			tokens = n
		}
	}
	total := time.Since(start)
	env.Metrics.Trend("request_duration", name, ms(total))
	if tokens == 0 {
		tokens = messages
	}
	recordTokens(env.Metrics, name, total, firstToken, tokens)
	return nil
}

// completionTokens finds usage.completion_tokens in an answer, wherever the message keeps its usage field.
func completionTokens(msg protoreflect.Message) int {
	usage := msg.Descriptor().Fields().ByName("usage")
	if usage == nil || usage.Message() == nil || !msg.Has(usage) {
		return 0
	}
	u := msg.Get(usage).Message()
	field := u.Descriptor().Fields().ByName("completion_tokens")
	if field == nil {
		return 0
	}
	switch field.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return int(u.Get(field).Int())
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return int(u.Get(field).Uint())
	}
	return 0
}
