// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Events;
using HyperDbgRemote.VmxDriver;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.Agent.Tests;

public sealed class EventManagerTests
{
    private static IoEventSpec Out(ushort? port, Func<EventInvocation, string?>? script = null) =>
        new() { Direction = IoEventDirection.Out, Port = port, Script = script is null ? null : new FakeScript(script) };

    [Test]
    public void Register_IdsFromZero_FailedRequestConsumesNoId()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        Assert.That(t.Events.Register(Out(0x80, _ => null)).Id, Is.Zero);
        Assert.That(() => t.Events.Register(Out(0x80) with { Core = 5 }), Throws.TypeOf<EventManagerException>().With.Message.Contains("core 5"));
        Assert.That(t.Events.Register(Out(0x80, _ => null)).Id, Is.EqualTo(1));
    }

    [TestCase("buffer", "too large")]
    [TestCase("sc", "stage post")]
    [TestCase("imm", "imm no")]
    [TestCase("outputs", "the limit is 5")]
    [TestCase("code", "1 to")]
    public void Register_InvalidRequest_NamesTheProblem(string what, string message)
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        IoEventSpec spec = what switch
        {
            "buffer" => Out(1) with { BufferSize = EventManager.MaxBufferSize + 1 },
            "sc" => Out(1) with { ShortCircuit = true, Stage = IoEventStage.Post },
            "imm" => Out(1) with { Immediate = false, Outputs = ["a"] },
            "outputs" => Out(1) with { Outputs = ["a", "b", "c", "d", "e", "f"] },
            _ => Out(1) with { Code = [] },
        };
        Assert.That(() => t.Events.Register(spec), Throws.TypeOf<EventManagerException>().With.Message.Contains(message));
        Assert.That(t.Events.Events, Is.Empty);
    }

    [Test]
    public void Register_TooManyEvents_Refused()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        for (int i = 0; i < HyperDbgRemote.Protocol.ProtocolLimits.Default.MaxEvents; i++)
        {
            t.Events.Register(Out((ushort)i, _ => null));
        }

        Assert.That(() => t.Events.Register(Out(0x9999, _ => null)), Throws.TypeOf<EventManagerException>().With.Message.Contains("the limit is 1024").And.Property("Status").EqualTo(HyperDbgRemote.Protocol.Messages.Status.LimitExceeded));
    }

    [Test]
    public void Bitmaps_ClearAndDisable_RecomputedFromRemainingEventsOfBothDirections()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        VmcsIoControls c = t.Vm.Cores[0].Controls;
        RegisteredEvent o = t.Events.Register(Out(0x80, _ => null));
        RegisteredEvent i = t.Events.Register(new IoEventSpec { Direction = IoEventDirection.In, Port = 0x71, Script = new FakeScript(_ => null) });
        Assert.That((c.IsPortSet(0x80), c.IsPortSet(0x71)), Is.EqualTo((true, true)));

        t.Events.Clear(i.Id);
        Assert.That((c.IsPortSet(0x80), c.IsPortSet(0x71)), Is.EqualTo((true, false)), "clearing the last !ioin keeps !ioout ports");

        t.Events.SetEnabled(o.Id, false);
        Assert.That(c.IsPortSet(0x80), Is.False, "a disabled event does not trap");
        t.Events.SetEnabled(o.Id, true);
        Assert.That(c.IsPortSet(0x80), Is.True);
        Assert.That(() => t.Events.Clear(42), Throws.TypeOf<EventManagerException>().With.Message.Contains("event 2a does not exist"));
    }

    [Test]
    public void Script_SeesEveryCom1Byte_ContextIsPort()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        var seen = new List<string>();
        t.Events.Register(Out(0x3F8, inv =>
        {
            seen.Add($"{(char)(inv.Core.ReadRegister(GuestRegister.Rax) & 0xFF)}@{inv.Context:x}");
            return null;
        }));

        t.Run();

        Assert.That(seen, Is.EqualTo(new[] { "A@3f8", "B@3f8", "C@3f8" }));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("ABC"));
    }

    [Test]
    public void Match_DwordAccessOverlappingWatchedPort_Triggers()
    {
        using var t = new AgentTestVm(a =>
        {
            a.mov(dx, 0x3F6);
            a.@out(dx, eax);
            a.mov(dx, 0x3F4);
            a.@out(dx, eax);
            a.hlt();
        });
        int triggers = 0;
        t.Events.Register(Out(0x3F8, _ =>
        {
            triggers++;
            return null;
        }));

        t.Run();

        Assert.That(triggers, Is.EqualTo(1), "3F6..3F9 covers 3F8; 3F4..3F7 does not");
    }

    [Test]
    public void ShortCircuit_EventScFromAnyMatchingEvent_SkipsEvenIfAnotherSaysOff()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        t.Events.Register(Out(0x3F8, inv =>
        {
            inv.ShortCircuit = (inv.Core.ReadRegister(GuestRegister.Rax) & 0xFF) == 'B';
            return null;
        }));
        t.Events.Register(Out(0x3F8, _ => null));

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AC"));
    }

    [Test]
    public void ShortCircuit_ScOnWhitelisting_EventScZeroLetsThrough()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        t.Events.Register(Out(0x3F8, inv =>
        {
            if ((inv.Core.ReadRegister(GuestRegister.Rax) & 0xFF) == 'C')
            {
                inv.ShortCircuit = false;
            }

            return null;
        }) with
        { ShortCircuit = true });

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("C"));
    }

    [Test]
    public void Stages_PreNeverRunsInPost_PostSeesValueRead()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        var log = new List<string>();
        t.Events.Register(new IoEventSpec
        {
            Direction = IoEventDirection.In,
            Port = 0x71,
            Script = new FakeScript(inv =>
        {
            log.Add($"pre:{inv.StageNumber}");
            return null;
        })
        });
        t.Events.Register(new IoEventSpec
        {
            Direction = IoEventDirection.In,
            Port = 0x71,
            Stage = IoEventStage.Post,
            Script = new FakeScript(inv =>
        {
            log.Add($"post:{inv.StageNumber}:{inv.Core.ReadRegister(GuestRegister.Rax) & 0xFF:x}");
            inv.Core.WriteRegister(GuestRegister.Rax, 0x42);
            return null;
        })
        });
        t.Events.Register(new IoEventSpec
        {
            Direction = IoEventDirection.In,
            Port = 0x71,
            Stage = IoEventStage.All,
            Script = new FakeScript(inv =>
        {
            log.Add($"all:{inv.StageNumber}");
            return null;
        })
        });

        t.Run();

        Assert.That(log, Is.EqualTo(new[] { "pre:0", "all:0", "post:1:80", "all:1" }));
        Assert.That(t.Vm.Cores[0].ReadRegister(GuestRegister.Rbx) & 0xFF, Is.EqualTo(0x42), "the post stage changed the value the guest got");
    }

    [Test]
    public void Break_HaltsEveryCoreAtTheOut_RegisterChangeReachesDevice()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        RegisteredEvent e = t.Events.Register(Out(0x3F8));
        int halts = 0;
        t.Vm.Halted += (_, h) => Task.Run(() =>
        {
            halts++;
            Assert.That(h.Tag, Is.EqualTo(e.Id));
            Assert.That(t.Events.HaltingEvent, Is.SameAs(e));
            if (halts == 2)
            {
                h.Core.WriteRegister(GuestRegister.Rax, 'x');
            }

            t.Vm.Resume();
        });

        t.Run();

        Assert.That(halts, Is.EqualTo(3));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("AxC"));
    }

    [Test]
    public void Condition_FalseSkipsActions_FaultIsReported()
    {
        // condition: GUEST_REGS.rax low byte == 'B'
        byte[] condition = Code(a =>
        {
            var no = a.CreateLabel();
            a.xor(eax, eax);
            a.cmp(__byte_ptr[rcx], (byte)'B');
            a.jne(no);
            a.inc(eax);
            a.Label(ref no);
            a.ret();
        });
        byte[] faulty = Code(a =>
        {
            a.mov(rax, __qword_ptr[0xDEAD_0000]);
            a.ret();
        });
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        var seen = new List<char>();
        t.Events.Register(Out(0x3F8, inv =>
        {
            seen.Add((char)(inv.Core.ReadRegister(GuestRegister.Rax) & 0xFF));
            return null;
        }) with
        { Condition = condition });
        RegisteredEvent bad = t.Events.Register(Out(0x3F8, _ => throw new AssertionException("must not run")) with { Condition = faulty });

        t.Run();

        Assert.That(seen, Is.EqualTo(new[] { 'B' }));
        Assert.That(bad.Failures, Is.EqualTo(3));
        Assert.That(t.Output.Logs.Select(l => l.Text), Has.Some.Contains("condition failed").And.Some.Contains("read"));
        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("ABC"), "the guest is unharmed");
    }

    [Test]
    public void Code_ChangesGuestRaxAndUsesBuffer_BeforeEmulation()
    {
        // code: buffer[0]++ ; GUEST_REGS.rax = 'a' + buffer[0] - 1
        byte[] code = Code(a =>
        {
            a.inc(__byte_ptr[rcx]);
            a.movzx(eax, __byte_ptr[rcx]);
            a.add(eax, 'a' - 1);
            a.mov(__qword_ptr[rdx], rax);
            a.ret();
        });
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        RegisteredEvent e = t.Events.Register(Out(0x3F8) with { Code = code, BufferSize = 16 });

        t.Run();

        Assert.That(t.Devices.Com1.Transmitted.Text(), Is.EqualTo("abc"));
        Assert.That(e.Buffer[0], Is.EqualTo(3));
    }

    [Test]
    public void PidFilter_DefaultProfile_MatchesCr3PageFrame()
    {
        using var t = new AgentTestVm(TestPrograms.PrintAbc);
        ulong cr3 = (16UL * 1024 * 1024) - HyperDbgRemote.VmxDriver.Guests.IdentityMap.TablesSize;
        int hits = 0;
        int misses = 0;
        t.Events.Register(Out(0x3F8, _ =>
        {
            hits++;
            return null;
        }) with
        { ProcessId = (uint)(cr3 >> 12) });
        t.Events.Register(Out(0x3F8, _ =>
        {
            misses++;
            return null;
        }) with
        { ProcessId = 1 });

        t.Run();

        Assert.That((hits, misses), Is.EqualTo((3, 0)));
    }

    private static byte[] Code(Action<Assembler> body)
    {
        var a = new Assembler(64);
        body(a);
        using var s = new MemoryStream();
        a.Assemble(new StreamCodeWriter(s), 0x10000);
        return s.ToArray();
    }
}
