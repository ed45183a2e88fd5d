// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using Google.Protobuf;
using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.Agent.Outputs;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Protocol;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.VmxDriver;
using LogLevel = HyperDbgRemote.Protocol.Messages.LogLevel;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>
/// Answers the host's requests (<see cref="HostToAgent"/>) on a <see cref="DebuggeeSession"/>: the same code behind
/// gRPC and the framed link. Every request is validated again here (the host is not trusted); a refusal is a status
/// with a message naming the problem, and changes nothing.
/// </summary>
internal sealed partial class RequestDispatcher
{
    private readonly DebuggeeSession _session;
    private readonly IScriptCompiler? _scripts;

    public RequestDispatcher(DebuggeeSession session, IScriptCompiler? scripts)
    {
        _session = session;
        _scripts = scripts;
    }

    /// <summary>The agent's name in the handshake.</summary>
    public const string AgentName = "hyperdbg-agent 1.0";

    /// <summary>
    /// Handles one request on a thread of its own, for the transports. A request may run for as long as its host lets
    /// it (a script looping on the halted core until Ctrl+C): on the shared thread pool a few of them would starve the
    /// timers and reads every link and gRPC call relies on (keep-alives, dead-peer clocks, break-in bytes). It always
    /// runs, even with <paramref name="cancellationToken"/> already cancelled, and answers that it was cancelled. The
    /// threads are reused (<see cref="RequestThreads"/>): starting one per request cost most of a step's round trip.
    /// </summary>
    public Task<AgentToHost> HandleAsync(HostToAgent request, CancellationToken cancellationToken) =>
        RequestThreads.Shared.Run(() => Handle(request, cancellationToken));

    /// <summary>Handles one request; <paramref name="cancellationToken"/> is the request's (cancelled when its host gives
    /// up or goes away): script compilation and evaluation stop with it.</summary>
    public AgentToHost Handle(HostToAgent request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = new AgentToHost { RequestId = request.RequestId };
        try
        {
            if (!_session.Limits.TryValidate(request, out string? limit))
            {
                throw new SessionException(limit, Status.LimitExceeded);
            }

            Dispatch(request, reply, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetError(request, reply, Status.Timeout, "the request was cancelled before it finished.");
        }
        catch (SessionException ex)
        {
            SetError(request, reply, ex.Status, ex.Message);
        }
        catch (EventManagerException ex)
        {
            SetError(request, reply, ex.Status, ex.Message);
        }
        catch (OutputException ex)
        {
            SetError(request, reply, ex.Status, ex.Message);
        }
        catch (ScriptException ex)
        {
            SetError(request, reply, Status.InvalidArgument, ex.Message);
        }
#pragma warning disable CA1031 // The last resort of every request: logged with its stack, answered as internal, the transport keeps serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Serilog.Log.Error(ex, "request {Request} failed with an unexpected error", request.BodyCase);
            SetError(request, reply, Status.Internal, $"internal error in the agent (logged there): {ex.GetType().Name}: {ex.Message}");
        }

        return reply;
    }

    private void Dispatch(HostToAgent request, AgentToHost reply, CancellationToken cancellationToken)
    {
        switch (request.BodyCase)
        {
            case HostToAgent.BodyOneofCase.Handshake:
                reply.Handshake = Handshake(request.Handshake);
                break;
            case HostToAgent.BodyOneofCase.RegisterEvent:
                reply.RegisterEvent = RegisterEvent(request.RegisterEvent.Event ?? throw new SessionException("the request carries no event."), cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.ModifyEvent:
                reply.ModifyEvent = ModifyEvent(request.ModifyEvent);
                break;
            case HostToAgent.BodyOneofCase.ListEvents:
                reply.ListEvents = ListEvents();
                break;
            case HostToAgent.BodyOneofCase.Output:
                reply.Output = Output(request.Output);
                break;
            case HostToAgent.BodyOneofCase.Continue:
                reply.Continue = Continue(request.Continue);
                break;
            case HostToAgent.BodyOneofCase.Pause:
                reply.Pause = Pause(request.Pause);
                break;
            case HostToAgent.BodyOneofCase.ReadRegisters:
                reply.ReadRegisters = Registers((int)request.ReadRegisters.Core);
                break;
            case HostToAgent.BodyOneofCase.WriteRegister:
                reply.WriteRegister = WriteRegister(request.WriteRegister);
                break;
            case HostToAgent.BodyOneofCase.ReadMemory:
                reply.ReadMemory = ReadMemory(request.ReadMemory);
                break;
            case HostToAgent.BodyOneofCase.WriteMemory:
                reply.WriteMemory = WriteMemory(request.WriteMemory);
                break;
            case HostToAgent.BodyOneofCase.Disassemble:
                reply.Disassemble = Disassemble(request.Disassemble);
                break;
            case HostToAgent.BodyOneofCase.EvaluateScript:
                reply.EvaluateScript = Evaluate(request.EvaluateScript, cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.Status:
                reply.Status = StatusOf();
                break;
            case HostToAgent.BodyOneofCase.ReadMsr:
                reply.ReadMsr = ReadMsr(request.ReadMsr, cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.WriteMsr:
                reply.WriteMsr = WriteMsr(request.WriteMsr, cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.TranslateAddress:
                reply.TranslateAddress = TranslateAddress(request.TranslateAddress);
                break;
            case HostToAgent.BodyOneofCase.LookupSymbols:
                reply.LookupSymbols = LookupSymbols(request.LookupSymbols, cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.Breakpoint:
                reply.Breakpoint = Breakpoint(request.Breakpoint, cancellationToken);
                break;
            case HostToAgent.BodyOneofCase.Step:
                reply.Step = Step(request.Step, cancellationToken);
                break;
            default:
                throw new SessionException($"request {request.RequestId} has no body the agent knows ({request.BodyCase}).", Status.Unsupported);
        }
    }

    private HandshakeResponse Handshake(HandshakeRequest request)
    {
        var response = new HandshakeResponse
        {
            ProtocolVersion = ProtocolVersion.Current,
            AgentName = AgentName,
            Guest = Guest(),
            Halted = _session.Vm.IsHalted,
        };
        response.Capabilities.Add(["events", "outputs", "registers", "memory", "disassembly", "translation", "symbols", "breakpoints"]);
        if (_scripts is not null)
        {
            response.Capabilities.Add("scripts");
        }

        if (request.ProtocolVersion != ProtocolVersion.Current)
        {
            response.Status = Status.IncompatibleVersion;
            response.Message = $"protocol version {request.ProtocolVersion} is not supported: this agent speaks version {ProtocolVersion.Current}.";
            return response;
        }

        if (_session.Vm.CurrentHalt is VmHaltInfo halt)
        {
            response.CurrentHalt = Notifications.Halted(DebuggeeSession.Describe(halt), _session);
        }

        response.Status = Status.Ok;
        return response;
    }

    private GuestDescription Guest() => new()
    {
        Kind = _session.GuestDescription.Split(' ')[0],
        Description = _session.GuestDescription,
        Cores = (uint)_session.Vm.Cores.Count,
        MemoryBytes = _session.Vm.Memory.RamSize,
    };

    private ReadRegistersResponse Registers(int core)
    {
        (IReadOnlyDictionary<string, ulong> registers, UInt128[] xmm) = _session.ReadRegisters(core);
        var response = new ReadRegistersResponse { Status = Status.Ok, Registers = new RegisterSet() };
        foreach ((string name, ulong value) in registers)
        {
            response.Registers.Values[name] = value;
        }
        foreach (UInt128 x in xmm)
        {
            byte[] bytes = new byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(bytes, x);
            response.Xmm.Add(ByteString.CopyFrom(bytes));
        }

        return response;
    }

    private WriteRegisterResponse WriteRegister(WriteRegisterRequest request)
    {
        _session.WriteRegister((int)request.Core, request.Name, request.Value, request.ValueHigh);
        return new WriteRegisterResponse { Status = Status.Ok };
    }

    private ReadMemoryResponse ReadMemory(ReadMemoryRequest request)
    {
        byte[] data = _session.ReadMemory(request.Address, checked((int)Math.Min(request.Length, int.MaxValue)), request.Physical, (int)request.Core);
        var response = new ReadMemoryResponse { Status = Status.Ok, Data = ByteString.CopyFrom(data) };
        if (data.Length < request.Length)
        {
            response.Message = $"only {data.Length:x} of {request.Length:x} bytes are readable at {request.Address:x}.";
        }

        return response;
    }

    private WriteMemoryResponse WriteMemory(WriteMemoryRequest request)
    {
        int n = _session.WriteMemory(request.Address, request.Data.Span, request.Physical, (int)request.Core);
        return new WriteMemoryResponse
        {
            Status = Status.Ok,
            Written = (uint)n,
            Message = n < request.Data.Length ? $"only {n:x} of {request.Data.Length:x} bytes are writable at {request.Address:x}." : string.Empty,
        };
    }

    private DisassembleResponse Disassemble(DisassembleRequest request)
    {
        var response = new DisassembleResponse { Status = Status.Ok };
        foreach ((ulong address, byte[] bytes, string text) in _session.Disassemble((int)request.Core, request.Address, (int)Math.Min(request.Count, int.MaxValue)))
        {
            response.Instructions.Add(new Instruction { Address = address, Bytes = ByteString.CopyFrom(bytes), Text = text });
        }

        return response;
    }

    private EvaluateScriptResponse Evaluate(EvaluateScriptRequest request, CancellationToken cancellationToken)
    {
        if (_scripts is null)
        {
            throw new SessionException("this agent has no script engine.", Status.Unsupported);
        }

        IScriptCompiler scripts = _scripts;
        string output = _session.WhileHalted("running a script", () =>
        {
            VmHaltInfo halt = _session.Vm.CurrentHalt!;
            var context = new HaltContext(
                halt.Exit?.Port ?? halt.GuestEvent?.Context ?? (ulong)(halt.Access is MemoryAccessExit access ? DebuggeeSession.Describe(halt).Monitor?.Address ?? 0 : 0),
                halt.Tag as int?,
                halt.Exit?.Stage == ExitStage.Post || halt.GuestEvent?.Stage == ExitStage.Post ? 1 : 0);
            return scripts.Evaluate(request.Script, _session.Core((int)request.Core), context, request.Includes, cancellationToken);
        }, cancellationToken);
        return new EvaluateScriptResponse { Status = Status.Ok, Output = output };
    }

    /// <summary>rdmsr: one core, or every core when none is named (HyperDbg's default).</summary>
    private ReadMsrResponse ReadMsr(ReadMsrRequest request, CancellationToken cancellationToken)
    {
        var response = new ReadMsrResponse { Status = Status.Ok };
        _session.WhileHalted("reading an MSR", () =>
        {
            foreach (Vcpu core in MsrCores(request.HasCore ? request.Core : null))
            {
                response.Values.Add(new MsrValue { Core = (uint)core.Index, Value = core.ReadMsr(request.Msr) });
            }

            return true;
        }, cancellationToken);
        return response;
    }

    /// <summary>wrmsr: one core, or every core when none is named (HyperDbg's default).</summary>
    private WriteMsrResponse WriteMsr(WriteMsrRequest request, CancellationToken cancellationToken)
    {
        _session.WhileHalted("writing an MSR", () =>
        {
            foreach (Vcpu core in MsrCores(request.HasCore ? request.Core : null))
            {
                core.WriteMsr(request.Msr, request.Value);
            }

            return true;
        }, cancellationToken);
        return new WriteMsrResponse { Status = Status.Ok };
    }

    private IEnumerable<Vcpu> MsrCores(uint? core) =>
        core is uint c ? [_session.Core(checked((int)Math.Min(c, int.MaxValue)))] : _session.Vm.Cores;

    private StatusResponse StatusOf()
    {
        var response = new StatusResponse
        {
            Status = Status.Ok,
            Guest = Guest(),
            Halted = _session.Vm.IsHalted,
            Stopped = _session.Vm.HasStopped,
            StopReason = _session.Vm.StopInfo?.Reason.ToString() ?? string.Empty,
            DroppedMessages = (ulong)_session.Messages.DroppedTotal,
            OsProfile = _session.Vm.OsProfile.Description,
        };
        foreach ((ushort port, long count) in _session.Vm.ExitCountsByPort())
        {
            response.Exits.Add(new PortExitCount { Port = port, Count = (ulong)count });
        }

        return response;
    }

    private static void SetError(HostToAgent request, AgentToHost reply, Status status, string message)
    {
        switch (request.BodyCase)
        {
            case HostToAgent.BodyOneofCase.Handshake:
                reply.Handshake = new HandshakeResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.RegisterEvent:
                reply.RegisterEvent = new RegisterEventResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.ModifyEvent:
                reply.ModifyEvent = new ModifyEventResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.ListEvents:
                reply.ListEvents = new ListEventsResponse { Status = status };
                break;
            case HostToAgent.BodyOneofCase.Output:
                reply.Output = new OutputResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.Continue:
                reply.Continue = new ContinueResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.Pause:
                reply.Pause = new PauseResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.ReadRegisters:
                reply.ReadRegisters = new ReadRegistersResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.WriteRegister:
                reply.WriteRegister = new WriteRegisterResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.ReadMemory:
                reply.ReadMemory = new ReadMemoryResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.WriteMemory:
                reply.WriteMemory = new WriteMemoryResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.Disassemble:
                reply.Disassemble = new DisassembleResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.EvaluateScript:
                reply.EvaluateScript = new EvaluateScriptResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.ReadMsr:
                reply.ReadMsr = new ReadMsrResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.WriteMsr:
                reply.WriteMsr = new WriteMsrResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.TranslateAddress:
                reply.TranslateAddress = new TranslateAddressResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.LookupSymbols:
                reply.LookupSymbols = new LookupSymbolsResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.Breakpoint:
                reply.Breakpoint = new BreakpointResponse { Status = status, Message = message };
                break;
            case HostToAgent.BodyOneofCase.Step:
                reply.Step = new StepResponse { Status = status, Message = message };
                break;
            default:
                reply.Notification = new Notification { Log = new LogNotification { Level = LogLevel.Error, Text = message } };
                break;
        }
    }
}
