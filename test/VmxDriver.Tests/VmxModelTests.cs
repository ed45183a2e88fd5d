// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Tests.Fakes;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// The VMX model on a fake execution context (no CPU engine): what an exit reports, the stages, emulation against the
/// device bus, exception delivery and injection. The engine-facing behaviour is tested against Unicorn elsewhere.
/// </summary>
public sealed class VmxModelTests
{
    private const ulong Code = 0x10000;
    private const ulong Stack = 0x9000;
    private const ulong IdtBase = 0x20000;
    private const ulong GdtBase = 0x22000;
    private const ulong Handler = 0x21000;
    private const ulong Buffer = 0x30000;

    [Test]
    public void OutExit_SecondIoInstructionOfTheBlock_ReportsItsRipLengthAndQualification()
    {
        // Arrange: mov al,'A' (B0 41); out 80h,al (E6 80); out dx,al (EE). The engine reports I/O instruction #1.
        var handler = new RecordingExitHandler();
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rdx, 0x3F8);
            c.Out(0x3F8, 1, 0x41, Code, index: 1);
            return RunResult.Ended;
        });
        f.Memory(Code, [0xB0, 0x41, 0xE6, 0x80, 0xEE]);
        f.Vm.ExitHandler = handler;
        f.Core.Controls.SetPort(0x3F8, true);

        // Act
        f.Run();

        // Assert
        ExitRecord exit = handler.Exits.Single();
        Assert.That(exit.Rip, Is.EqualTo(Code + 4));
        Assert.That(exit.Length, Is.EqualTo(1));
        Assert.That(exit.Text, Is.EqualTo("out dx,al"));
        Assert.That(exit.Qualification.Port, Is.EqualTo(0x3F8));
        Assert.That(exit.Qualification.IsImmediate, Is.False);
        Assert.That(f.Devices.Com1.Transmitted.Text(), Is.EqualTo("A"));
    }

    [Test]
    public void InExit_PostStage_ValueMergedIntoAlOfRax()
    {
        // Arrange: in al,dx (EC) from the debug console, which reads 0xE9.
        var handler = new RecordingExitHandler(e => e.PostStageRequested = true);
        ulong? result = null;
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rax, 0x1122_3344_5566_7788);
            result = c.In(StandardPorts.DebugConsole, 1, Code);
            return RunResult.Ended;
        });
        f.Memory(Code, [0xEC]);
        f.Vm.ExitHandler = handler;
        f.Core.Controls.SetPort(StandardPorts.DebugConsole, true);

        // Act
        f.Run();

        // Assert: the post stage saw the value in AL with RAX's other bytes kept (SDM: IN AL merges).
        Assert.That(result, Is.EqualTo(0xE9));
        Assert.That(handler.Exits.Select(e => e.Stage), Is.EqualTo(new[] { ExitStage.Pre, ExitStage.Post }));
        Assert.That(handler.Exits[1].Value, Is.EqualTo(0xE9));
        Assert.That(f.Core.ReadRegister(GuestRegister.Rax), Is.EqualTo(0x1122_3344_5566_77E9UL));
    }

    [TestCase(true, "", Description = "the pre stage skips: no device access")]
    [TestCase(false, "Z", Description = "the pre stage rewrites AL: the device gets the new value")]
    public void OutExit_PreStage_SkipOrRewriteDecidesWhatTheDeviceGets(bool skip, string expected)
    {
        // Arrange: out 0E9h,al (E6 E9) with AL = 'A'.
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rax, 'A');
            c.Out(StandardPorts.BochsDebugPort, 1, 'A', Code);
            return RunResult.Ended;
        });
        f.Memory(Code, [0xE6, 0xE9]);
        f.Vm.ExitHandler = new RecordingExitHandler(e =>
        {
            if (skip)
            {
                e.SkipInstruction = true;
            }
            else
            {
                e.Core.WriteRegister(GuestRegister.Rax, 'Z');
            }
        });
        f.Core.Controls.SetPort(StandardPorts.BochsDebugPort, true);

        // Act
        f.Run();

        // Assert
        Assert.That(f.Devices.BochsPort.Output.Text(), Is.EqualTo(expected));
    }

    [Test]
    public void OutsExit_ElementAddressAndInstructionInformation_AsTheSdmDefinesThem()
    {
        // Arrange: rep outsb (F3 6E) with RSI at a buffer holding 'Q'.
        var handler = new RecordingExitHandler();
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rsi, Buffer);
            c.WriteRegister(GuestRegister.Rdx, StandardPorts.BochsDebugPort);
            c.Out(StandardPorts.BochsDebugPort, 1, 'Q', Code);
            return RunResult.Ended;
        });
        f.Memory(Code, [0xF3, 0x6E]);
        f.Memory(Buffer, "Q"u8.ToArray());
        f.Vm.ExitHandler = handler;
        f.Core.Controls.SetPort(StandardPorts.BochsDebugPort, true);

        // Act
        f.Run();

        // Assert: 64-bit address size (2 in bits 9:7), segment DS (3 in bits 17:15).
        ExitRecord exit = handler.Exits.Single();
        Assert.That(exit.Qualification.IsString && exit.Qualification.IsRep, Is.True);
        Assert.That(exit.LinearAddress, Is.EqualTo(Buffer));
        Assert.That(exit.Information, Is.EqualTo((2u << 7) | (3u << 15)));
        Assert.That(f.Devices.BochsPort.Output.Text(), Is.EqualTo("Q"));
    }

    [Test]
    public void Exception_LongModeInterruptGate_FrameOnTheStackAndHandlerEntered()
    {
        // Arrange: #GP (13, with an error code) raised at RIP 0x10042 with RSP 0x8FF8 and IF set.
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rip, Code + 0x42);
            c.WriteRegister(GuestRegister.Rsp, Stack - 8);
            c.WriteRegister(GuestRegister.Rflags, 0x202);
            c.WriteRegister(GuestRegister.Cs, 0x08);
            c.WriteRegister(GuestRegister.Ss, 0x10);
            c.Raise(13);
            return RunResult.Ended;
        });
        f.Idt(13, Handler);

        // Act
        f.Run();

        // Assert: SS, RSP, RFLAGS, CS, RIP and the error code, 16-byte aligned (SDM Vol. 3A, 64-bit mode stack frame).
        ulong rsp = f.Core.ReadRegister(GuestRegister.Rsp);
        Assert.That(rsp, Is.EqualTo(Stack - 0x10 - 48));
        Assert.That(f.Qwords(rsp, 6), Is.EqualTo(new ulong[] { 0, Code + 0x42, 0x08, 0x202, Stack - 8, 0x10 }));
        Assert.That(f.Core.ReadRegister(GuestRegister.Rip), Is.EqualTo(Handler));
        Assert.That(f.Core.ReadRegister(GuestRegister.Rflags) & 0x200, Is.Zero, "an interrupt gate clears IF");
        Assert.That(f.Core.InterruptsDelivered, Is.EqualTo(1));
        Assert.That(f.Context.ExceptionsDelivered, Is.EqualTo(1), "the engine is told the exception was delivered");
    }

    [Test]
    public void Exception_NoIdt_StopsTheVmWithATripleFaultNamingTheLimit()
    {
        // Arrange: a guest that never loaded an IDT (IDTR limit 0) takes a page fault.
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rip, Code);
            c.Raise(14);
            return c.StopRequested ? RunResult.Ended : new RunResult(RunOutcome.Error, "the run went on");
        });

        // Act
        VmStopInfo info = f.Run();

        // Assert
        Assert.That(info.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info.Report, Does.Contain("core 0: triple fault (shutdown): vector 14").And.Contain("beyond the IDT limit"));
        Assert.That(f.Context.ExceptionsDelivered, Is.Zero);
    }

    [Test]
    public void TryInject_TakenAtTheNextBlockBoundaryWithThatBlockAsTheReturnAddress()
    {
        // Arrange: the event is queued while the core runs; the next block would start at Code + 0x10.
        Vcpu? core = null;
        bool accepted = false;
        using Fixture f = Fixture.Create(c =>
        {
            c.WriteRegister(GuestRegister.Rsp, Stack);
            accepted = core!.TryInject(0x40);
            c.Boundary(Code + 0x10);
            return RunResult.Ended;
        });
        core = f.Core;
        f.Idt(0x40, Handler);

        // Act
        f.Run();

        // Assert
        Assert.That(accepted, Is.True);
        Assert.That(f.Core.ReadRegister(GuestRegister.Rip), Is.EqualTo(Handler));
        Assert.That(f.Qwords(f.Core.ReadRegister(GuestRegister.Rsp), 1)[0], Is.EqualTo(Code + 0x10), "the return RIP");
        Assert.That(f.Context.ExceptionsDelivered, Is.Zero, "an injected event is not the engine's exception");
    }

    [Test]
    public void Run_EngineError_StopsTheVmWithTheCoresReport()
    {
        using Fixture f = Fixture.Create(_ => new RunResult(RunOutcome.Error, "unmapped guest-physical read at 0x123"));

        VmStopInfo info = f.Run();

        Assert.That(info.Reason, Is.EqualTo(VmStopReason.Fault));
        Assert.That(info.Report, Is.EqualTo("core 0: unmapped guest-physical read at 0x123"));
    }

    /// <summary>A one-core long-mode VM on a <see cref="FakeCpuEngine"/> with the standard devices.</summary>
    private sealed class Fixture : IDisposable
    {
        private Fixture(VirtualMachine vm, FakeCpuEngine engine, StandardDevices devices)
        {
            Vm = vm;
            Engine = engine;
            Devices = devices;
        }

        public VirtualMachine Vm { get; }

        public FakeCpuEngine Engine { get; }

        public StandardDevices Devices { get; }

        public Vcpu Core => Vm.Cores[0];

        public FakeExecutionContext Context => Engine.Contexts[0];

        public static Fixture Create(Func<FakeExecutionContext, RunResult> program)
        {
            var engine = new FakeCpuEngine(program);
            var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 }, engine);
            StandardDevices devices = StandardDevices.Attach(vm);
            vm.AddCores([new CoreStart(CoreStartMode.Long64, 0, Code, Stack)]);
            return new Fixture(vm, engine, devices);
        }

        public void Memory(ulong address, byte[] bytes) => Vm.Memory.Write(address, bytes);

        /// <summary>A 64-bit interrupt gate (selector 8) for <paramref name="vector"/> in a 256-entry IDT, and a GDT whose
        /// selector 8 is a 64-bit ring-0 code segment.</summary>
        public void Idt(int vector, ulong handler)
        {
            Vm.Memory.TryWrite(GdtBase + 8, 0x00AF_9A00_0000_FFFFUL);
            Context.WriteTableRegister(TableRegisterKind.Gdtr, GdtBase, 15);
            Span<byte> gate = stackalloc byte[16];
            BitConverter.TryWriteBytes(gate, (ushort)handler);
            BitConverter.TryWriteBytes(gate[2..], (ushort)8);
            gate[5] = 0x8E;
            BitConverter.TryWriteBytes(gate[6..], (ushort)(handler >> 16));
            BitConverter.TryWriteBytes(gate[8..], (uint)(handler >> 32));
            Vm.Memory.Write(IdtBase + ((ulong)vector * 16), gate);
            Context.WriteTableRegister(TableRegisterKind.Idtr, IdtBase, (256 * 16) - 1);
        }

        public ulong[] Qwords(ulong address, int count)
        {
            var values = new ulong[count];
            for (int i = 0; i < count; i++)
            {
                Vm.Memory.TryRead(address + (ulong)(i * 8), out values[i]);
            }

            return values;
        }

        /// <summary>Runs until the VM stops (every core ends in HLT, or a fault).</summary>
        public VmStopInfo Run()
        {
            Vm.Start();
            VmStopInfo? info = Vm.WaitForStop(TimeSpan.FromSeconds(30));
            Assert.That(info, Is.Not.Null, "the VM did not stop");
            return info!;
        }

        public void Dispose() => Vm.Dispose();
    }
}
