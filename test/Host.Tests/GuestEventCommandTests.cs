// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Host.Tests;

/// <summary>
/// <c>!cpuid</c>, <c>!syscall</c>, <c>!exception</c> and <c>!interrupt</c> through bin/hyperdbg and its agent: each halt
/// names what fired (leaf, RAX, vector) with RIP where HyperDbg has it, $context is the value, <c>sc on</c> skips the
/// exception's delivery; bad values are refused and register nothing; <c>!interrupt 30</c> halts in Debian's kernel on
/// its first timer interrupt (IRQ 0, vector 0x30 through the PIC).
/// </summary>
[Category("EndToEnd")]
public sealed class GuestEventCommandTests
{
    /// <summary>
    /// At 0x100000: EFER.SCE, STAR (CS 8), LSTAR = the INT3; CPUID 0x40000000 (at 0x10002d), SYSCALL with RAX 0x3c (at
    /// 0x100034) which "enters" at the INT3 (0x100036), OUT 80h, HLT. No IDT: the INT3 can only be skipped.
    /// </summary>
    private static readonly byte[] s_image =
    [
        0xB9, 0x80, 0x00, 0x00, 0xC0, 0x0F, 0x32, 0x83, 0xC8, 0x01, 0x0F, 0x30, // EFER |= SCE
        0xB9, 0x81, 0x00, 0x00, 0xC0, 0x31, 0xC0, 0xBA, 0x08, 0x00, 0x00, 0x00, 0x0F, 0x30, // STAR: CS 8
        0xB9, 0x82, 0x00, 0x00, 0xC0, 0xB8, 0x36, 0x00, 0x10, 0x00, 0x31, 0xD2, 0x0F, 0x30, // LSTAR = 0x100036
        0xB8, 0x00, 0x00, 0x00, 0x40, 0x0F, 0xA2, // mov eax, 40000000h; cpuid
        0xB8, 0x3C, 0x00, 0x00, 0x00, 0x0F, 0x05, // mov eax, 3ch; syscall
        0xCC, 0xE6, 0x80, 0xF4, // int3; out 80h, al; hlt
    ];

    /// <summary>A copy of the image.</summary>
    internal static byte[] ImageBytes() => [.. s_image];

    private static string ImageFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"hdr-guestevents-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, s_image);
        return path;
    }

    [Test]
    public void CpuidSyscallException_HaltNamesWhatFired_ContextIsTheValue_ScOnSkipsTheDelivery()
    {
        string image = ImageFile();
        try
        {
            // Act
            (int exit, string output, string error) = HyperDbgProcess.Run(
                "--guest", $"flat64:{image}@100000", "--initial-break",
                "-c", "!cpuid 40000000",
                "-c", "!syscall 3c",
                "-c", "!exception 3 sc on",
                "-c", "!cpuid 1 script { printf(\"leaf 1 ran\\n\"); }",
                "-c", "g",
                "-c", "r rip",
                "-c", "? printf(\"context=%llx\\n\", $context);",
                "-c", "g",
                "-c", "? printf(\"context=%llx\\n\", $context);",
                "-c", "g",
                "-c", "events",
                "-c", "g",
                "-c", ".status");

            // Assert
            Assert.That(exit, Is.Zero, output + error);
            Assert.That(output, Does.Contain("event 0x0 triggered (pre, !cpuid, leaf (eax) 0x40000000)\n00000000`0010002d 0f a2"), output);
            Assert.That(output, Does.Contain("rip=000000000010002d"), "RIP at the CPUID");
            Assert.That(output, Does.Contain("context=40000000\n"));
            Assert.That(output, Does.Contain("event 0x1 triggered (pre, !syscall, system call (rax) 0x3c)\n00000000`00100034 0f 05"), output);
            Assert.That(output, Does.Contain("context=3c\n"));
            Assert.That(output, Does.Contain("event 0x2 triggered (pre, !exception, vector 0x3 #BP)\n00000000`00100037 e6 80"), "#BP is a trap: RIP after INT3");
            Assert.That(output, Does.Contain("!exception 3 sc on"), "events lists it");
            Assert.That(output, Does.Not.Contain("leaf 1 ran\n"), "a leaf filter");
            Assert.That(output + error, Does.Not.Contain("triple fault"), "sc on: the #BP was not delivered (there is no IDT)");
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Test]
    public void Sysret_OnTheDemo_HaltsAtTheKernelsSysretq_StepLandsInRing3_GuestEferKeepsSce_PostStageInRing3()
    {
        // The demo's kernel enters its processes and returns from their system calls with SYSRETQ; its processes call it
        // with SYSCALL.
        // (Broken in with 'pause', not --initial-break: a late initial-break notice can end the first 'g'.)
        const string Where = "? printf(\"context=%llx rip=%llx cs=%x\\n\", $context, @rip, @cs);";
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(2),
            "--guest", "demo",
            "-c", "pause",
            "-c", "!sysret",
            "-c", "g",
            "-c", Where,
            "-c", "r efer",
            "-c", "t",
            "-c", Where,
            "-c", "events c 0",
            "-c", "!sysret pid 2 stage post",
            "-c", "g",
            "-c", Where,
            "-c", "r efer",
            "-c", "? printf(\"pid=%x\\n\", $pid);",
            "-c", "events c all",
            "-c", "g");

        Assert.That(exit, Is.Zero, output + error);
        Match pre = Regex.Match(output, @"event 0x0 triggered \(pre, !sysret at 0x([0-9a-f]+)\)\n[0-9a-f]{8}`([0-9a-f]{8}) 48 0f 07[0-9a-f ]* sysretq\n");
        Assert.That(pre.Success, Is.True, output);
        Assert.That(Convert.ToUInt64(pre.Groups[1].Value, 16), Is.EqualTo(Convert.ToUInt64(pre.Groups[2].Value, 16)), "$context is the SYSRET's address");
        MatchCollection where = Regex.Matches(output, @"context=([0-9a-f]+) rip=([0-9a-f]+) cs=([0-9a-f]+)\n");
        Assert.That(where, Has.Count.EqualTo(3), output);
        MatchCollection efer = Regex.Matches(output, @"efer=([0-9a-f]+)\n");
        Assert.That(efer, Has.Count.EqualTo(2), output);
        Assert.That(where[0].Groups[1].Value, Is.EqualTo(where[0].Groups[2].Value), "pre stage: RIP at the SYSRETQ");
        Assert.That(where[0].Groups[3].Value, Is.EqualTo("8"), "in the kernel");
        Assert.That(Convert.ToUInt64(efer[0].Groups[1].Value, 16) & 1, Is.EqualTo(1), "the guest's EFER.SCE, hidden from the engine only");
        Assert.That(where[1].Groups[3].Value, Is.EqualTo("2b"), "'t' executed the SYSRETQ: ring 3, CS = STAR[63:48] + 16 | 3");
        Assert.That(Convert.ToUInt64(where[1].Groups[2].Value, 16), Is.GreaterThanOrEqualTo(0x4000_0000), "at the user's code");
        Assert.That(output, Does.Match(@"event 0x1 triggered \(post, !sysret at 0x[0-9a-f]+\)"), output);
        Assert.That(where[2].Groups[3].Value, Is.EqualTo("2b"), "post stage: in ring 3");
        Assert.That(Convert.ToUInt64(efer[1].Groups[1].Value, 16) & 1, Is.EqualTo(1));
        Assert.That(output, Does.Contain("pid=2\n"), "the pid filter");
    }

    [Test]
    public void MsrReadWrite_OnTheImage_HaltBeforeRdmsrWithEcx_PostStageAfterWrmsr_EventsListsThem()
    {
        string image = ImageFile();
        try
        {
            // Act: RDMSR of EFER at 0x100005; WRMSR of LSTAR at 0x100026 (post stage: after it, 0x100028). Both halt, so
            // each 'r' waits for its halt.
            (int exit, string output, string error) = HyperDbgProcess.Run(
                "--guest", $"flat64:{image}@100000", "--initial-break",
                "-c", "!msrread c0000080",
                "-c", "!msrwrite 0xc0000082 stage post",
                "-c", "!exception 3 sc on",
                "-c", "g",
                "-c", "r rip",
                "-c", "? printf(\"context=%llx\\n\", $context);",
                "-c", "events",
                "-c", "g",
                "-c", "r rip",
                "-c", "? printf(\"context=%llx\\n\", $context);",
                "-c", "g",
                "-c", ".status");

            // Assert
            Assert.That(exit, Is.Zero, output + error);
            Assert.That(output, Does.Contain("event 0x0 triggered (pre, !msrread, msr (ecx) 0xc0000080)\n00000000`00100005 0f 32"), output);
            Assert.That(output, Does.Contain("rip=0000000000100005"), "RIP at the RDMSR: the exit comes before it");
            Assert.That(output, Does.Contain("context=c0000080\n"));
            Assert.That(output, Does.Contain("!msrwrite 0xc0000082 stage post"), "events lists it");
            Assert.That(output, Does.Contain("event 0x1 triggered (post, !msrwrite, msr (ecx) 0xc0000082)\n00000000`00100028 b8"), output);
            Assert.That(output, Does.Contain("rip=0000000000100028"), "the post stage after the WRMSR");
            Assert.That(output, Does.Contain("context=c0000082\n"));
            Assert.That(output + error, Does.Not.Contain("triple fault"));
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Test]
    public void Mode_OnTheDemo_HaltsAtTheFirstUserInstructionOfTheProcess_ThenEnteringTheKernel()
    {
        // The demo's processes run in ring 3 and enter the kernel by SYSCALL and interrupts.
        // (Broken in with 'pause', not --initial-break: a late initial-break notice can end the first 'g'.)
        const string Where = "? printf(\"context=%llx cs=%x pid=%x\\n\", $context, @cs, $pid);";
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(2),
            "--guest", "demo",
            "-c", "pause",
            "-c", "!mode u pid 2",
            "-c", "g",
            "-c", Where,
            "-c", "events c all",
            "-c", "!mode k pid 2",
            "-c", "g",
            "-c", Where,
            "-c", "events c all",
            "-c", "g");

        Assert.That(exit, Is.Zero, output + error);
        Assert.That(output, Does.Contain("event 0x0 triggered (pre, !mode, entering user mode)"), output);
        Assert.That(output, Does.Contain("context=3 cs=2b pid=2\n"), "in ring 3, in process 2: " + output);
        Assert.That(output, Does.Contain("event 0x1 triggered (pre, !mode, entering kernel mode)"), output);
        Assert.That(output, Does.Contain("context=0 cs=8 pid=2\n"), "the kernel entered from process 2: " + output);
    }

    [Test]
    public void Cpuid_EventsScOnAtTheHalt_SkipsTheEmulation()
    {
        string image = ImageFile();
        try
        {
            (int exit, string output, string error) = HyperDbgProcess.Run(
                "--guest", $"flat64:{image}@100000", "--initial-break", "-c", "!cpuid", "-c", "!syscall", "-c", "g", "-c", "r rbx", "-c", "events sc on", "-c", "g", "-c", "r rbx");

            Assert.That(exit, Is.Zero, output + error);
            Assert.That(output, Does.Contain("event 0x1 triggered (pre, !syscall, system call (rax) 0x3c)"), output);
            string[] rbx = [.. output.Split('\n').Where(l => l.StartsWith("rbx=", StringComparison.Ordinal))];
            Assert.That(rbx, Has.Length.EqualTo(2));
            Assert.That(rbx[1], Is.EqualTo(rbx[0]), "CPUID did not write RBX");
            Assert.That(rbx[1], Is.Not.EqualTo("rbx=0000000065707948"), "the hypervisor leaf's 'Hype'");
        }
        finally
        {
            File.Delete(image);
        }
    }

    [Test]
    public void Cpuid_RipCannotMoveAtItsHalt()
    {
        string image = ImageFile();
        try
        {
            (int exit, string output, string error) = HyperDbgProcess.Run(
                "--guest", $"flat64:{image}@100000", "--initial-break", "-c", "!cpuid", "-c", "g", "-c", "r rip = 0");

            Assert.That(exit, Is.EqualTo(1), output + error);
            Assert.That(output, Does.Contain("event 0x0 triggered (pre, !cpuid, leaf (eax) 0x40000000)"));
            Assert.That(output + error, Does.Contain("this halt is inside a CPUID instruction (a !cpuid event): RIP cannot be moved"));
        }
        finally
        {
            File.Delete(image);
        }
    }

    [TestCase("!exception 20", "!exception: vector '20' is invalid: a number from 0 to 1f")]
    [TestCase("!interrupt 100", "!interrupt: vector '100' is invalid: a number from 0 to ff")]
    [TestCase("!interrupt 10", "!interrupt: vector '10' is an exception, not an external interrupt")]
    [TestCase("!interrupt", "!interrupt: give the vector (20 to ff)")]
    [TestCase("!cpuid 1 frobnicate", "!cpuid: unknown parameter 'frobnicate'")]
    [TestCase("!syscall sc on stage all", "!syscall: sc on cannot be used with stage all")]
    [TestCase("!exception e core 7", "core 7 does not exist")]
    [TestCase("!msrread c00000zz", "!msrread: msr 'c00000zz' is invalid: a number from 0 to ffffffff")]
    [TestCase("!crwrite 3", "!crwrite: control register '3' is not supported: 0 for CR0 or 4 for CR4")]
    [TestCase("!crwrite", "!crwrite: give the control register")]
    [TestCase("!mode u", "!mode: give the process")]
    [TestCase("!mode x pid 1", "!mode: mode 'x' is invalid")]
    public void GuestEvent_BadInput_IsRefusedWithTheReasonAndRegistersNothing(string command, string message)
    {
        (int exit, string output, string error) = HyperDbgProcess.Run("--guest", "demo", "--initial-break", "-c", command);

        Assert.That(exit, Is.EqualTo(1), output + error);
        Assert.That(output + error, Does.Contain(message));
        Assert.That(output, Does.Not.Contain("registered"), "nothing was registered");
    }

    [Test]
    public void Interrupt_OnTheLinuxGuest_HaltsOnTheFirstTimerInterruptBeforeItsDelivery()
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string dir = Path.Combine(root, ".cache", "linux");
        if (!File.Exists(Path.Combine(dir, "vmlinuz")) || !File.Exists(Path.Combine(dir, "initramfs.cpio.gz")))
        {
            Assert.Ignore("skipped: the Linux guest files are missing (run ./build.sh deps)");
        }

        // Act: 'r' waits for the halt (up to --wait); the process limit only catches a hang.
        (int exit, string output, string error) = HyperDbgProcess.Run(
            TimeSpan.FromMinutes(15),
            "--local", "--guest", "linux", "--initial-break", "--wait", "600",
            "-c", "!interrupt 30",
            "-c", "g",
            "-c", "? printf(\"context=%llx if=%llx\\n\", $context, (@rflags >> 9) & 1);",
            "-c", "events c all");

        // Assert: IRQ 0 came, with interrupts enabled, and the handler has not run yet.
        Assert.That(exit, Is.Zero, output + error);
        Assert.That(output, Does.Contain("event 0x0 triggered (pre, !interrupt, vector 0x30)"), output);
        Assert.That(output, Does.Contain("context=30 if=1\n"));
    }
}
