// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Guests;

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class GuestLoaderTests
{
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("hdr-guest").FullName;
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Test]
    public void Parse_MissingFile_NamesTheFile()
    {
        string path = Path.Combine(_dir, "nope.bin");
        Assert.That(() => GuestSpec.Parse($"flat64:{path}@100000"), Throws.TypeOf<GuestImageException>().With.Message.Contains(path).And.Message.Contains("does not exist"));
    }

    [Test]
    public void Parse_EmptyFile_SaysEmpty()
    {
        string path = WriteFile("empty.bin", []);
        Assert.That(() => GuestSpec.Parse($"flat16:{path}@0:7c00"), Throws.TypeOf<GuestImageException>().With.Message.Contains("is empty"));
    }

    [Test]
    public void Parse_TruncatedBios_SaysSizeIsWrong()
    {
        string path = WriteFile("bios.bin", new byte[1000]);
        Assert.That(() => GuestSpec.Parse($"bios:{path}"), Throws.TypeOf<GuestImageException>().With.Message.Contains("1000 bytes").And.Message.Contains("multiple of 64 KiB"));
    }

    [Test]
    public void Parse_ZeroFilledBios_SaysNoCodeAtResetVector()
    {
        string path = WriteFile("zero.bin", new byte[64 * 1024]);
        Assert.That(() => GuestSpec.Parse($"bios:{path}"), Throws.TypeOf<GuestImageException>().With.Message.Contains("reset vector"));
    }

    [TestCase("windows95")]
    [TestCase("flat64:x")]
    [TestCase("flat16:x@zz:7c00")]
    [TestCase("flat64:x@not-hex")]
    public void Parse_BadSpec_ShowsTheForms(string spec) =>
        Assert.That(() => GuestSpec.Parse(spec), Throws.TypeOf<GuestImageException>().With.Message.Contains(spec.Split('@')[0].Split(':')[0]));

    [Test]
    public void Load_ImageLargerThanRam_SaysItDoesNotFit()
    {
        string path = WriteFile("big.bin", new byte[20 * 1024 * 1024]);
        IGuestLoader loader = GuestSpec.Parse($"flat64:{path}@100000");
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 16 * 1024 * 1024 });
        Assert.That(() => loader.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("does not fit"));
    }

    [Test]
    public void Configuration_BadValues_NameThem()
    {
        Assert.That(() => new VirtualMachine(new VmConfiguration { Cores = 0 }), Throws.ArgumentException.With.Message.Contains("not 0"));
        Assert.That(() => new VirtualMachine(new VmConfiguration { MemoryBytes = 1000 }), Throws.ArgumentException.With.Message.Contains("1000 bytes"));
    }
}
