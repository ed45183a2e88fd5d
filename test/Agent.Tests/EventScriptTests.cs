// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.VmxDriver;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>Event scripts compiled by the script engine and run on real VM exits.</summary>
public sealed class EventScriptTests
{
    private static readonly Dictionary<string, ulong> s_symbols = new(StringComparer.Ordinal) { ["nt!Test"] = 0x1234 };

    private static EngineScriptCompiler Compiler(AgentTestVm t) => new(t.Vm, t.Events, s_symbols);

    private static IoEventSpec Out(ushort port, EngineScriptCompiler scripts, string script, int buffer = 0) =>
        new() { Direction = IoEventDirection.Out, Port = port, Script = scripts.Compile(script), BufferSize = buffer };

    [Test]
    public void Printf_EveryCom1Character_OneMessageEach()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "printf(\"%c\", @al);"));

        t.Run();

        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "A", "B", "C" }));
    }

    [Test]
    public void PseudoRegisters_ContextStageIdAndProcess()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x70, scripts, "printf(\"ctx=%x stage=%x core=%x pid=%x tid=%x name=%s id=%x tag=%x\", $context, $event_stage, $core, $pid, $tid, $pname, $event_id, $event_tag);"));

        t.Run();

        GuestProcess p = t.Vm.OsProfile.Current(t.Vm.Cores[0]);
        Assert.That(p.ProcessId, Is.Not.Zero, "the test guest runs with paging, so the default profile gives a pid");
        Assert.That(t.Output.Messages.Single().Text, Is.EqualTo($"ctx=70 stage=0 core=0 pid={p.ProcessId:x} tid=0 name={p.Name} id=0 tag=1000000"));
    }

    [Test]
    public void RegisterWrite_InPreStage_ChangesTheValueTheOutWrites()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "if (@al == 42) { @al = 78; }"));

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AxC"), "numbers are hex: 42 is 'B', 78 is 'x'");
    }

    [Test]
    public void EventSc_SkipsTheOut()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "if (@al == 42) { event_sc(1); }"));

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AC"));
    }

    /// <summary>HyperDbg's dispatch (DispatchEventIO and the other Dispatch* routines) calls the post stage whenever an
    /// event asked for it, whether or not the pre stage short-circuited the instruction: a <c>stage all</c> event that
    /// skipped an OUT in its pre stage is called again after it, with the value that was not written.</summary>
    [Test]
    public void StageAll_EventScInThePreStage_SkipsTheOut_AndThePostStageStillRuns()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "if ($event_stage == 0 && @al == 42) { event_sc(1); } printf(\"%x:%c\", $event_stage, @al);") with { Stage = IoEventStage.All });

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AC"), "the pre stage skipped the 'B'");
        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "0:A", "1:A", "0:B", "1:B", "0:C", "1:C" }), "both stages ran for every OUT, the skipped one included");
        Assert.That(t.Output.Logs, Is.Empty);
    }

    [Test]
    public void StageAll_EventScInThePostStage_OnlyWarns_SayingWhy()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        RegisteredEvent e = t.Events.Register(Out(0x3F8, scripts, "if (@al == 42 || ($event_stage == 1 && @al == 41)) { event_sc(1); }") with { Stage = IoEventStage.All });

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AC"), "only the pre stage's event_sc skipped ('B')");
        Assert.That(t.Output.Logs, Is.EqualTo(new[]
        {
            (EventLogLevel.Warning, $"event {e.Id:x}: event_sc has no effect in the post stage (the instruction already ran)."),
            (EventLogLevel.Warning, $"event {e.Id:x}: event_sc has no effect in the post stage (the pre stage skipped the instruction)."),
        }), "HyperDbg: event_sc in the post stage only logs a warning");
    }

    [Test]
    public void Buffer_KeptAcrossTriggers_CountsEveryOut()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "eq($buffer, dq($buffer) + 1); printf(\"%x\", dq($buffer));", buffer: 16));

        t.Run();

        RegisteredEvent e = t.Events.Events.Single();
        Assert.That(BitConverter.ToUInt64(e.Buffer), Is.EqualTo(3));
        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "1", "2", "3" }));
    }

    [Test]
    public void Buffer_WithoutBufferOption_IsZeroAndNotWritable()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x70, scripts, "printf(\"%x %x\", $buffer, eq(VcpuScriptTarget_BufferAddress, 1));".Replace("VcpuScriptTarget_BufferAddress", $"0x{VcpuScriptTarget.BufferAddress:x}", StringComparison.Ordinal)));

        t.Run();

        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "0 0" }), "eq reports failure: there is no buffer to write");
    }

    [Test]
    public void Globals_SharedAcrossEvents()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, ".count = .count + 1;"));
        t.Events.Register(Out(0x70, scripts, "printf(\"%x\", .count);"));

        t.Run();

        Assert.That(t.Output.Messages.Single().Text, Is.EqualTo("3"));
        Assert.That(scripts.Globals["count"], Is.EqualTo(3));
    }

    [Test]
    public void RuntimeError_EndsThatRunOnly_EventStaysActive()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "x = 1 / (@al - 41); printf(\"%c\", @al);"));

        t.Run();

        RegisteredEvent e = t.Events.Events.Single();
        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "B", "C" }));
        Assert.That(e.Enabled, Is.True);
        Assert.That((e.Triggers, e.Failures), Is.EqualTo((3L, 1L)));
        Assert.That(t.Output.Logs.Single().Text, Does.Contain("event 0: script error").And.Contain("division by zero"));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("ABC"), "a failed script does not stop the instruction");
    }

    [Test]
    public void EventDisable_FromAScript_StopsTheOtherEvent()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "printf(\"%c\", @al);"));
        t.Events.Register(Out(0x3F8, scripts, "if (@al == 41) { event_disable(0); } event_enable(99);"));

        t.Run();

        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "A", "event_enable: no event has id 0x99\n", "event_enable: no event has id 0x99\n", "event_enable: no event has id 0x99\n" }));
        Assert.That(t.Events.Find(0)!.Enabled, Is.False);
    }

    [Test]
    public void Pause_HaltsAfterTheActions()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x3F8, scripts, "if (@al == 42) { pause(); }"));
        var halted = new List<ulong>();
        t.Vm.Halted += (_, h) => Task.Run(() =>
        {
            halted.Add(h.Core.ReadRegister(GuestRegister.Rax) & 0xFF);
            t.Vm.Resume();
        });

        t.Run();

        Assert.That(halted, Is.EqualTo(new ulong[] { 0x42 }));
    }

    [Test]
    public void Includes_SentWithTheScript_CompiledInPlace()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        var includes = new Dictionary<string, string> { ["lib.ds"] = "int upper(int ch8) { return ch8 + 0n32; }" };
        t.Events.Register(new IoEventSpec { Direction = IoEventDirection.Out, Port = 0x3F8, Script = scripts.Compile("#include \"lib.ds\" printf(\"%c\", upper(@al));", includes) });

        t.Run();

        Assert.That(t.Output.Messages.Select(m => m.Text), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(() => scripts.Compile("#include \"other.ds\"", includes), Throws.TypeOf<ScriptException>().With.Message.Contains("cannot find"));
    }

    [Test]
    public void EventInject_FromAScript_QueuesTheEventOnTheExitingCore()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Events.Register(Out(0x70, scripts, "event_inject(0, 0x40); event_inject(0, 0x41);"));

        t.Vm.Start();
        VmStopInfo? stop = t.Vm.WaitForStop(TimeSpan.FromSeconds(20));

        // The first reaches the guest, which has no IDT: a triple fault naming the vector is the proof. The second is
        // refused (one event at a time) and ends that run with an error naming the function.
        Assert.That(stop?.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(stop!.Report, Does.Contain("vector 64 (0x40)"));
        Assert.That(t.Output.Logs.Single().Text, Does.Contain("event_inject: the target cannot inject the event"));
    }

    [Test]
    public void Compile_Error_CarriesLineColumnAndCaret()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);

        ScriptException ex = Assert.Throws<ScriptException>(() => scripts.Compile("x = 1;\ny = (2;"))!;

        Assert.That(ex.Message, Does.StartWith("line 2, column").And.Contain("^"));
    }

    [Test]
    public void Evaluate_OnHaltedCore_ReadsRegistersSymbolsAndMemory()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Run();
        Vcpu core = t.Vm.Cores[0];
        core.Machine.Memory.TryWrite(AgentTestVm.DataAddress, 0x1122334455667788UL);
        core.WriteRegister(GuestRegister.Rbx, 0x5A);

        string output = scripts.Evaluate(
            $"printf(\"%x %llx %llx %x %x\\n\", @bl, nt!Test, dq(0x{AgentTestVm.DataAddress:x}), $context, $event_stage); @rcx = 0x77;",
            core,
            new HaltContext(0x80, 1, 1));

        Assert.That(output, Is.EqualTo("5a 1234 1122334455667788 80 1\n"));
        Assert.That(core.ReadRegister(GuestRegister.Rcx), Is.EqualTo(0x77));
    }

    [Test]
    public void Evaluate_RuntimeError_KeepsOutputAndNamesTheFunction()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        EngineScriptCompiler scripts = Compiler(t);
        t.Run();

        ScriptException ex = Assert.Throws<ScriptException>(() => scripts.Evaluate("printf(\"before\\n\"); x = dq(0xdead00000000);", t.Vm.Cores[0], new HaltContext(0, null, 0)))!;

        Assert.That(ex.Message, Does.StartWith("before\nscript error:").And.Contain("dq"));
    }
}
