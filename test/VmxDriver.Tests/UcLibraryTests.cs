// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Finding the CPU engine library: the one the build copied, refusing Unicorn 2.0, clear errors.</summary>
public sealed class UcLibraryTests
{
    [Test]
    public void Handle_InABuildOutput_LoadsTheCopiedUnicorn21ByPath()
    {
        // Act
        nint handle = UcLibrary.Handle;

        // Assert: ./build.sh deps extracted Debian 13's library and the build copied it next to the assemblies.
        Assert.That(handle, Is.Not.Zero);
        Assert.That(UcLibrary.Source, Is.EqualTo(Path.Combine(AppContext.BaseDirectory, UcLibrary.FileName)));
        Assert.That(UcLibrary.IsSupported(UcLibrary.VersionWord), Is.True, UcLibrary.FormatVersion(UcLibrary.VersionWord));
        Assert.That(UcEngine.Version(), Is.EqualTo((UcLibrary.VersionWord >> 24, (UcLibrary.VersionWord >> 16) & 0xFF)));
    }

    [TestCase(0x020001FFu, false, "2.0.1", Description = "Debian 12's libunicorn2")]
    [TestCase(0x020000FFu, false, "2.0.0")]
    [TestCase(0x010003FFu, false, "1.0.3")]
    [TestCase(0x020101FFu, true, "2.1.1", Description = "Debian 13's libunicorn2t64")]
    [TestCase(0x020104FFu, true, "2.1.4")]
    [TestCase(0x03000000u, true, "3.0.0")]
    public void IsSupported_VersionWords_TwoPointOneOrLater(uint word, bool supported, string text)
    {
        Assert.That(UcLibrary.IsSupported(word), Is.EqualTo(supported));
        Assert.That(UcLibrary.FormatVersion(word), Is.EqualTo(text));
    }

    [Test]
    public void Agent_MissingCpuEngineLibrary_SaysWhichPackageToInstall()
    {
        // Act: the agent in a child process, its engine library pointed at a file that does not exist.
        (int exitCode, string stderr) = RunAgentWithLibrary("/nonexistent/libunicorn.so.2");

        // Assert
        Assert.That(exitCode, Is.EqualTo(3));
        Assert.That(stderr, Does.Contain("/nonexistent/libunicorn.so.2 cannot be loaded"));
        Assert.That(stderr, Does.Contain("./build.sh deps").And.Contain("libunicorn2t64"));
    }

    [Test]
    public void Agent_Unicorn20_RefusedNamingThePackageToInstall()
    {
        // Arrange: Debian 12's own libunicorn2 (2.0.1), which ./build.sh deps extracts for this test only.
        string old = Path.Combine(RepositoryRoot(), "artifacts", "engine", "unicorn-too-old", "usr", "lib", "x86_64-linux-gnu", "libunicorn.so.2");
        Assert.That(File.Exists(old), Is.True, $"Debian 12's Unicorn 2.0 is at {old} (./build.sh deps puts it there)");

        // Act
        (int exitCode, string stderr) = RunAgentWithLibrary(old);

        // Assert
        Assert.That(exitCode, Is.EqualTo(3));
        Assert.That(stderr, Does.Contain("is Unicorn 2.0.1").And.Contain("needs Unicorn 2.1 or later"));
        Assert.That(stderr, Does.Contain("./build.sh deps").And.Contain("libunicorn2t64"));
    }

    private static (int ExitCode, string Stderr) RunAgentWithLibrary(string library)
    {
        string agent = Path.Combine(RepositoryRoot(), "Debuggee.Agent", "bin", Configuration(), "net10.0", "HyperDbgRemote.Agent.dll");
        Assert.That(File.Exists(agent), Is.True, $"the agent is built at {agent}");
        string image = Path.Combine(Directory.CreateTempSubdirectory("hdr-uclib").FullName, "hlt.bin");
        File.WriteAllBytes(image, [0xF4]);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(agent);
        psi.ArgumentList.Add("--guest");
        psi.ArgumentList.Add($"flat64:{image}@100000");
        psi.Environment[UcLibrary.LibraryOverrideVariable] = library;
        try
        {
            using Process p = Process.Start(psi)!;
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stderr);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(image)!, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        DirectoryInfo? dir = new(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HyperDbgRemote.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("HyperDbgRemote.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Configuration() => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}
