// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Script;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Tests;

/// <summary>The one register table agrees with the guest register enum and with the script engine's table.</summary>
public sealed class RegisterNamesTests
{
    [Test]
    public void EveryGuestRegister_HasExactlyOneFullName()
    {
        var named = RegisterNames.Full
            .Where(n => RegisterNames.TryGet(n, out _, out _, out int bits) && bits == 64)
            .Select(n => { RegisterNames.TryGet(n, out GuestRegister r, out _, out _); return r; })
            .ToList();

        Assert.That(named, Is.EquivalentTo(Enum.GetValues<GuestRegister>()), "each guest register is named once in the table");
    }

    [Test]
    public void EveryScriptRegister_IsKnown_WithTheScriptTablesLayout()
    {
        foreach (ScriptRegister r in Enum.GetValues<ScriptRegister>().Where(r => r != ScriptRegister.None))
        {
            string name = ScriptRegisterInfo.NameOf(r);
            ScriptRegisterInfo info = ScriptRegisterInfo.Of(r);
            Assert.That(RegisterNames.IsKnown(name), Is.True, name);
            if (RegisterNames.TryGet(name, out GuestRegister g, out int shift, out int bits))
            {
                Assert.That((g, shift, bits), Is.EqualTo((RegisterNames.GuestOf(info.Full)!.Value, info.Shift, info.Width)), name);
            }
        }
    }

    [TestCase("r8b")]
    [TestCase("xmm16")]
    [TestCase("xmm01")]
    [TestCase("foo")]
    public void UnknownNames_AreNotKnown(string name) => Assert.That(RegisterNames.IsKnown(name), Is.False);
}
